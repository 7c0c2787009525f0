import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageOps } from '../../src/image/opencv.js';
import { seeded, testCv } from '../helpers/opencv.js';
import { officialPreprocess, resizeCubic, resizeLinear } from '../../src/image/preprocess.js';
import { preprocessInto } from '../../src/infer/pipeline.js';
import { evalTransform } from '../../src/samples/augment.js';
import { decodeSample } from '../../src/samples/dataset.js';
import { Rng } from '../../src/samples/rng.js';

test('resizeLinear: a hand-computed row (OpenCV fixed point: 11-bit weights, edge columns clamped)', () => {
  // 2 → 4 columns: source x = (d + ½)/2 − ½ = −¼, ¼, ¾, 1¼ → weights of 255: 0 (clamped), 512, 1536, 2048 (clamped) of 2048;
  // the vertical pass (weight 2048 on the one row) gives ((S >> 4)·2048 >> 16 + 2) >> 2: 0, 64, 191, 255
  assert.deepEqual([...resizeLinear(Uint8Array.from([0, 255]), 2, 1, 1, 4, 1)], [0, 64, 191, 255]);
  // an exact 2× reduction is OpenCV's area path: (a + b + c + d + 2) >> 2
  assert.deepEqual([...resizeLinear(Uint8Array.from([0, 1, 1, 1]), 2, 2, 1, 1, 1)], [1]);
  assert.deepEqual([...resizeLinear(Uint8Array.from([0, 0, 1, 1]), 2, 2, 1, 1, 1)], [1]);
  assert.deepEqual([...resizeLinear(Uint8Array.from([0, 0, 0, 1]), 2, 2, 1, 1, 1)], [0]);
});

test('resizeLinear equals cv.resize(INTER_LINEAR) of OpenCV bit for bit, up and down, 1 and 3 channels', async () => {
  const ops = await loadImageOps();
  const rng = new Rng(17);
  const sizes: [number, number, number, number][] = [
    [64, 64, 128, 128],
    [97, 61, 64, 64],
    [40, 40, 17, 23],
    [7, 5, 16, 16],
    [128, 96, 64, 48],
    [33, 33, 33, 33],
  ];
  for (let t = 0; t < 40; t++) sizes.push([rng.randint(1, 60), rng.randint(1, 60), rng.randint(1, 60), rng.randint(1, 60)]);
  for (const [w, h, dw, dh] of sizes) {
    for (const channels of [1, 3] as const) {
      const src = Uint8Array.from({ length: w * h * channels }, () => rng.randint(0, 256));
      const ours = resizeLinear(src, w, h, channels, dw, dh);
      const cv = ops.resize(src, w, h, channels, dw, dh, 'linear');
      const differ = ours.reduce((n, v, i) => n + (v === cv[i] ? 0 : 1), 0);
      assert.equal(differ, 0, `${w}×${h}×${channels} → ${dw}×${dh}: ${differ} values differ`);
    }
  }
});

test("training's eval transform and detect's preprocessing feed the model the same values", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-pre-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rng = new Rng(3);
  const [w, h, side] = [45, 37, 64];
  const rgb = Uint8Array.from({ length: w * h * 3 }, () => rng.randint(0, 256));
  const path = join(dir, 'crop.png');
  await writeFile(
    path,
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const spec = officialPreprocess(side);
  const decoded = await decodeSample({ id: 'x', image: path, mask: null, label: 0, method: 'youtube', compression: 'c23', split: 'val', video: 'v', frame: 0 });
  const viaTraining = evalTransform(decoded, spec); // BGR, as cv2.imread
  const viaDetect = new Float32Array(3 * side * side);
  preprocessInto({ width: w, height: h, data: rgb }, { x: 0, y: 0, width: w, height: h }, spec, viaDetect, 0);
  assert.deepEqual(viaTraining, viaDetect);
});

test('resizeCubic equals opencv.js cv.resize(INTER_CUBIC) on uint8 (down, up, odd sizes, 1 and 3 channels), and a hand row', async () => {
  const { cv } = await testCv();
  const c3 = cv as unknown as { INTER_CUBIC: number; resize(a: unknown, b: unknown, s: unknown, fx: number, fy: number, i: number): void };
  const rand = seeded(5);
  for (const [w, h, c, dw, dh] of [
    [97, 61, 3, 256, 256],
    [300, 280, 3, 256, 256],
    [31, 17, 1, 12, 40],
    [8, 8, 3, 5, 3],
  ] as const) {
    const src = Uint8Array.from({ length: w * h * c }, () => Math.floor(rand() * 256));
    const a = new cv.Mat(h, w, c === 3 ? cv.CV_8UC3 : cv.CV_8UC1);
    a.data.set(src);
    const b = new cv.Mat(dh, dw, c === 3 ? cv.CV_8UC3 : cv.CV_8UC1);
    c3.resize(a, b, new cv.Size(dw, dh), 0, 0, c3.INTER_CUBIC);
    const want = new Uint8Array(b.data);
    a.delete();
    b.delete();
    const got = resizeCubic(src, w, h, c, dw, dh);
    let differ = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) differ++;
    assert.equal(differ, 0, `${w}×${h}×${c} → ${dw}×${dh}: ${differ} of ${want.length} values differ`);
  }
  // 2 → 4 of [0, 255]: output 1 reads source 0.25, taps (−0.10546875, 0.87890625, 0.26171875, −0.03515625) on
  // pixels (0, 0, 255, 255) → 255 · 0.2265625 = 57.8 → 58; output 2 mirrors it (255 − 58); the ends overshoot and clip
  assert.deepEqual([...resizeCubic(Uint8Array.from([0, 255]), 2, 1, 1, 4, 1)], [0, 58, 197, 255]);
});

test("a cv2-cubic model: training's paper transform (opencv.js) and detect's preprocessing (TypeScript) feed the same values", async () => {
  const ops = await loadImageOps();
  const rand = seeded(8);
  const [w, h, S] = [90, 70, 64];
  const rgb = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rand() * 256));
  const spec = { inputSize: S, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], resize: 'cv2-cubic' } as const;
  const ours = new Float32Array(3 * S * S);
  preprocessInto({ width: w, height: h, data: rgb }, { x: 0, y: 0, width: w, height: h }, spec, ours, 0);
  const resized = ops.resize(rgb, w, h, 3, S, S, 'cubic');
  for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) assert.equal(ours[c * S * S + i], Math.fround((resized[i * 3 + c] - 127.5) / 127.5));
});
