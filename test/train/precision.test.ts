// Mixed precision and memory format on the CPU build: bf16 autocast trains (CPU autocast is
// bfloat16-only in libtorch), fp16 is refused with a typed error that says what to do, and
// channelsLast gives the contiguous run's losses up to float rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F, torch } from '../../src/torch/index.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { writeSyntheticSet, type SyntheticSet } from './synthetic.js';

const SIDE = 32;
let set: SyntheticSet;
let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'msccnet-precision-'));
  set = await writeSyntheticSet(join(root, 'data'), { side: SIDE, train: 2, val: 1, seed: 9 });
});
test.after(() => rm(root, { recursive: true, force: true }));

const config = (name: string, extra: Partial<TrainConfigInput>): TrainConfigInput => ({
  data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: SIDE, scaleBase: SIDE + 1, workers: 0, prefetch: 1 },
  model: { backboneDepth: 18, inputSize: SIDE, featsChannels: 64, dropout: 0 },
  batchSize: 2,
  epochs: 1,
  optim: { lr: 0.01 },
  run: { dir: join(root, name), maxSteps: 1, threads: 2, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
  device: 'cpu',
  ...extra,
});

async function firstLosses(cfg: TrainConfigInput): Promise<Record<string, number>> {
  let losses: Record<string, number> = {};
  await train(parseTrainConfig(cfg), {
    onEvent: (e) => {
      if (e.kind === 'step') losses = { ...e.losses };
    },
  });
  return losses;
}

test('autocast bf16 runs convolutions in bfloat16 and keeps float32 inputs and weights', () => {
  const x = torch.randn([1, 2, 5, 5]);
  const w = torch.randn([3, 2, 3, 3]);
  const y = torch.autocast('cpu', { dtype: 'bfloat16' }, () => F.conv2d(x, w));
  assert.equal(y.dtype, 'bfloat16');
  assert.equal(F.conv2d(x, w).dtype, 'float32'); // off again after the region
  assert.equal(x.dtype, 'float32');
});

test("precision bf16 trains on the CPU: finite losses close to fp32's", { timeout: 300_000 }, async () => {
  const fp32 = await firstLosses(config('fp32', {}));
  const bf16 = await firstLosses(config('bf16', { precision: 'bf16' }));
  assert.deepEqual(Object.keys(bf16), Object.keys(fp32));
  for (const [k, v] of Object.entries(bf16)) {
    assert.ok(Number.isFinite(v), `${k} = ${v}`);
    // bfloat16 keeps 8 significant bits (~0.4 %); a 32² ResNet-18 forward compounds it to a few per cent at most
    assert.ok(Math.abs(v - fp32[k]) <= 0.05 * Math.abs(fp32[k]) + 1e-3, `${k}: bf16 ${v} vs fp32 ${fp32[k]}`);
  }
});

test('precision fp16 on the CPU fails before training with a DeviceError that points to bf16', async () => {
  await assert.rejects(train(parseTrainConfig(config('fp16', { precision: 'fp16' }))), {
    name: 'DeviceError',
    code: 'MSCCNET_DEVICE',
    message: /fp16 needs a CUDA device[\s\S]*bf16/,
  });
});

test("channelsLast gives the contiguous run's losses up to float rounding", { timeout: 300_000 }, async () => {
  const plain = await firstLosses(config('nchw', {}));
  const nhwc = await firstLosses(config('nhwc', { channelsLast: true }));
  for (const [k, v] of Object.entries(nhwc)) assert.ok(Math.abs(v - plain[k]) <= 1e-4 * Math.abs(plain[k]), `${k}: ${v} vs ${plain[k]}`);
});

test('a device the build does not have is a DeviceError that says how to get one', async () => {
  await assert.rejects(train(parseTrainConfig(config('nocuda', { device: 'cuda:0' }))), {
    name: 'DeviceError',
    message: /torch\.cuda\.isAvailable\(\) is false[\s\S]*LIBTORCH=python/,
  });
  assert.throws(() => parseTrainConfig(config('bad', { device: 'gpu0' })), { name: 'ConfigError', message: /device/ });
});
