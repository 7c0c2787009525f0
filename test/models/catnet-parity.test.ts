import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readParityFolder, compareTensor, logComparison, checkStateDict, summaryStats, tolerance, type Comparison } from '../helpers/baseline-parity.js';
import { readSafetensors, tensorOf } from '../helpers/safetensors.js';
import { CAT_Net, CATNET_DCT_CHANNELS } from '../../src/models/catnet/index.js';
import { CATNET_DCT_CLIP } from '../../src/image/index.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { torch, type Tensor } from '../../src/torch/index.js';
import { methodComplexity } from '../../src/onnx/complexity.js';

// CAT-Net (CAT_full.yaml, W48) against the official network_CAT.py with detfill-fanin-v1 weights
// (baseline-parity/catnet). The network input is rebuilt from the fixture's own data by the
// README's steps: the stored decoded RGB (`rgb_u8`) and the stored quantised Y coefficients of the
// two JPEGs (`jpeg/coefficients.safetensors`), so this test does not depend on our JPEG reader.
const folder = await readParityFolder('catnet');
const coefficients = await readSafetensors(join(folder.dir, 'jpeg', 'coefficients.safetensors'));
const [N, C, H, W] = JSON.parse(folder.metadata.input_shape) as number[];
const stems = [...folder.metadata.input.matchAll(/jpeg\/(\w+)\.jpg/g)].map((m) => m[1]);

/** README §2 step 7: RGB (v − 127.5)/127.5 [N, 3, H, W], the padding (value 127.5) at 0. */
function rgbInput(): Float32Array {
  const u8 = tensorOf(folder.expected, 'rgb_u8', 'U8');
  const [, h, w] = u8.shape;
  const out = new Float32Array(N * 3 * H * W);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((n * 3 + c) * H + y) * W + x] = (u8.data[((n * h + y) * w + x) * 3 + c] - 127.5) / 127.5;
  return out;
}

/** README §2 step 8: the clipped one-hot volume of the Y coefficients, [N, T + 1, H, W]. */
function dctVolume(): Float32Array {
  const out = new Float32Array(N * CATNET_DCT_CHANNELS * H * W);
  stems.forEach((stem, n) => {
    const coef = tensorOf(coefficients, `${stem}/y_coef`, 'I32');
    assert.deepEqual(coef.shape, [H, W], `${stem}: the Y array already has the grid size`);
    for (let p = 0; p < H * W; p++) out[(n * CATNET_DCT_CHANNELS + Math.min(Math.abs(coef.data[p]), CATNET_DCT_CLIP)) * H * W + p] = 1;
  });
  return out;
}

const values = (t: Tensor) => t.toTypedArray() as Float32Array;

test('catnet: W48 state dict equals keys.json, the outputs and intermediates equal the official ones, and so do its counts', () => {
  assert.equal(stems.length, N, 'one JPEG per sample');
  assert.equal(C, 3 + CATNET_DCT_CHANNELS, 'RGB + DCT volume channels');
  const model = new CAT_Net().eval();
  const entries = applyDetfillFanin(model, folder.keep, folder.offsetBasis);
  checkStateDict(folder, model.stateDict(), entries);

  const rgb = rgbInput();
  const volume = dctVolume();
  // the rebuilt input: per-channel sums (the DCT-volume counts exact) and the stored samples bit for bit
  const sums = tensorOf(folder.expected, 'input_channel_sum', 'F64').data;
  const plane = (n: number, c: number) =>
    c < 3
      ? rgb.subarray((n * 3 + c) * H * W, (n * 3 + c + 1) * H * W)
      : volume.subarray((n * CATNET_DCT_CHANNELS + c - 3) * H * W, (n * CATNET_DCT_CHANNELS + c - 2) * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const s = plane(n, c).reduce((a, b) => a + b, 0);
      if (c < 3) assert.ok(Math.abs(s - sums[n * C + c]) < 1e-6 * H * W, `input channel ${c} of sample ${n}: sum`);
      else assert.equal(s, sums[n * C + c], `DCT volume count, channel ${c - 3} of sample ${n}`);
    }
  }
  const idx = tensorOf(folder.expected, 'input/idx', 'I64').data;
  const val = tensorOf(folder.expected, 'input/val', 'F32').data;
  idx.forEach((i, j) => {
    const flat = Number(i);
    const [n, c, p] = [Math.floor(flat / (C * H * W)), Math.floor(flat / (H * W)) % C, flat % (H * W)];
    assert.equal(plane(n, c)[p], val[j], `input sample ${j}`);
  });
  assert.equal(summaryStats(volume).absSum, N * H * W, 'one 1 per position');

  const captured = new Map<string, Float32Array>();
  const qtable = tensorOf(folder.expected, 'qtable', 'F32');
  const { logits, tapped } = torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.forward(
        torch.fromTypedArray(rgb, [N, 3, H, W]),
        { dctVolume: torch.fromTypedArray(volume, [N, CATNET_DCT_CHANNELS, H, W]), qtable: torch.fromTypedArray(qtable.data, qtable.shape) },
        (name, t) => {
          if (name in folder.tensors) captured.set(name, values(t));
        },
      );
      return { logits: out.maskLogits.clone(), tapped: out.imgLogits.clone() };
    }),
  );
  const rows: Comparison[] = [];
  rows.push(compareTensor(folder, 'logits', values(logits), logits.shape));
  for (const name of ['layer1', 'dc_layer0_dil', 'dc_layer1_tail', 'dc_layer2', 'stage4.0', 'dc_stage4.2', 'stage5.3', 'last_layer.2']) {
    const v = captured.get(name);
    assert.ok(v !== undefined, `the forward taps ${name}`);
    rows.push(compareTensor(folder, name, v, folder.tensors[name].shape));
  }

  // `pred` (softmax class 1) where the official margin |l₁ − l₀| exceeds 1 (README §6)
  const ref = folder.expected.tensors.get('logits')!.data as Float32Array;
  const pred = folder.expected.tensors.get('pred')!.data as Float32Array;
  const ours = values(logits);
  const hw = logits.shape[2] * logits.shape[3];
  const predRow: Comparison = { folder: 'catnet', tensor: 'pred', storage: 'full', maxAbs: 0, maxRel: 0, tolerance: tolerance(folder, 'pred'), pass: true };
  let compared = 0;
  let imageMax = [-Infinity, -Infinity];
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < hw; p++) {
      const [l0, l1] = [ours[n * 2 * hw + p], ours[(n * 2 + 1) * hw + p]];
      imageMax[n] = Math.max(imageMax[n], l1 - l0);
      if (Math.abs(ref[(n * 2 + 1) * hw + p] - ref[n * 2 * hw + p]) <= 1) continue;
      const d = Math.abs(1 / (1 + Math.exp(l0 - l1)) - pred[n * hw + p]);
      predRow.maxAbs = Math.max(predRow.maxAbs, d);
      if (!(d <= predRow.tolerance)) predRow.pass = false;
      compared++;
    }
  }
  assert.ok(compared > N * hw - 10, 'pred is compared almost everywhere');
  rows.push(predRow);
  for (const c of rows) {
    logComparison(c);
    assert.ok(c.pass, `${c.folder}/${c.tensor}: max abs error ${c.maxAbs} exceeds ${c.tolerance} (max rel ${c.maxRel})`);
  }

  // the image score (adaptation): [0, max(l₁ − l₀)] per image
  const img = values(tapped);
  imageMax = imageMax.map(Math.fround);
  for (let n = 0; n < N; n++) assert.deepEqual([img[2 * n], img[2 * n + 1]], [0, imageMax[n]], `image logits of sample ${n}`);
  // parameters = the trainable entries of keys.json; MACs at 512² as measured on the official
  // model (shared/research/baselines-part2.md, CAT-Net "Cost": 133.30 G, conv only)
  const c = methodComplexity(model, 512);
  const official = folder.keys.entries.filter((e) => !/running_|num_batches/.test(e.name)).reduce((n, e) => n + e.numel, 0);
  assert.equal(c.parameters, official, 'trainable parameters');
  assert.equal((c.macs / 1e9).toFixed(2), '133.30', 'multiply-adds at 512²');
  model.dispose();
});
