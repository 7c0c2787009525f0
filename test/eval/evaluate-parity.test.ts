import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '../../src/eval/evaluate.js';
import type { OfficialMetrics } from '../../src/eval/index.js';
import { createOrtEngine, createTorchEngine, loadModel } from '../../src/infer/engines.js';
import { exportMethod } from '../../src/onnx/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { loadSplit } from '../../src/train/epochs.js';
import { writeSyntheticSet } from '../train/synthetic.js';

// A tiny run (ResNet-18, C = 64, 64² crops, a few steps) validates once at its end; evaluate()
// on its checkpoint must give the same numbers: exactly through libtorch, to 1e-6 through onnxruntime.
test("evaluate on a trained checkpoint gives train's validation numbers, via libtorch and onnxruntime", { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-evalparity-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 3, seed: 5 });
  const config = parseTrainConfig({
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 64, workers: 0, prefetch: 1 },
    model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 },
    batchSize: 4,
    epochs: 3,
    optim: { lr: 0.01 },
    run: { dir: join(dir, 'run'), valEveryEpochs: 3, threads: 2 },
  });
  const summary = await train(config);
  const validation = summary.validation!;
  assert.ok(validation.counts.images > 0);
  const { samples } = await loadSplit(config, config.data.valSplit);
  const weights = join(summary.lastCheckpoint!, 'model.safetensors');
  const batchSize = Math.min(8, config.batchSize); // validation's batch

  const { model } = await loadModel({ weights, overrides: config.model });
  const { bytes } = exportMethod(model, { metadata: { variant: 'msccnet', weights: 'test' } });
  const torchEngine = createTorchEngine(model);
  const viaTorch = await evaluate(torchEngine, samples, { batchSize });
  await torchEngine.release();
  assert.deepEqual(viaTorch.official, validation.official, 'libtorch: the same numbers');
  assert.deepEqual(viaTorch.confusion, validation.confusion);

  const ortEngine = await createOrtEngine(bytes, 'tiny.onnx', { threads: 2 });
  t.after(() => ortEngine.release());
  const viaOrt = await evaluate(ortEngine, samples, { batchSize });
  let maxDiff = 0;
  for (const k of Object.keys(validation.official) as (keyof OfficialMetrics)[]) {
    const [a, b] = [viaOrt.official[k], validation.official[k]];
    assert.ok((Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-6, `onnxruntime ${k}: ${a} vs ${b}`);
    if (!Number.isNaN(a)) maxDiff = Math.max(maxDiff, Math.abs(a - b));
  }
  t.diagnostic(`onnxruntime vs validation: largest metric difference ${maxDiff.toExponential(2)}; ${JSON.stringify(validation.official)}`);
  assert.deepEqual(viaOrt.counts, validation.counts);
});
