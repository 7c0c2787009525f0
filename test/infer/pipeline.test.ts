import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, type EngineOutput, type InferenceEngine } from '../../src/infer/pipeline.js';

test('analyze: a region taller than a band gets every row of P(fake), pasted at its box, 0 outside', async () => {
  // 2×2 mask logits whose class-1 rows differ: class 0 is 0, class 1 is −2 on the top row and 5 on
  // the bottom one, so P(fake) = sigmoid(class 1) of the bilinear blend of −2 and 5 along the rows (0.5 falls between rows: no tie)
  const engine: InferenceEngine = {
    inputSide: 8,
    name: 'two-rows',
    async run(_input: Float32Array, batch: number): Promise<EngineOutput> {
      const mask = new Float32Array(batch * 8);
      for (let b = 0; b < batch; b++) mask.set([0, 0, 0, 0, -2, -2, 5, 5], b * 8);
      return { imageLogits: new Float32Array(batch * 2).fill(0), maskLogits: mask, classes: 2, maskSide: 2 };
    },
    async release() {},
  };
  const [W, H] = [20, 200];
  const box = { x: 3, y: 11, width: 9, height: 150 }; // 150 rows: two full bands of 64 and one of 22
  const a = await analyze(engine, { width: W, height: H, data: new Uint8Array(W * H * 3) }, [{ box, detectorScore: null }]);
  // align_corners=False from 2 rows to 150: src = (y + 0.5)·2/150 − 0.5, clamped to [0, 1]
  const expected = (y: number): number => {
    const src = Math.min(1, Math.max(0, Math.fround(Math.fround(2 / 150) * (y + 0.5) - 0.5)));
    const logit = -2 * (1 - src) + 5 * src;
    return 1 / (1 + Math.exp(-logit));
  };
  let area = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
      const p = a.probability[y * W + x];
      if (!inside) assert.equal(p, 0, `(${x}, ${y}) is outside the box`);
      else assert.ok(Math.abs(p - expected(y - box.y)) < 1e-5, `(${x}, ${y}): ${p} vs ${expected(y - box.y)}`);
      if (inside && expected(y - box.y) > 0.5) area++;
    }
  }
  assert.equal(a.regions[0].maskArea, area);
  assert.equal(a.maskArea, area);
  assert.ok(area > 0 && area < box.width * box.height);
});
