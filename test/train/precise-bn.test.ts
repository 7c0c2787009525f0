import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors } from '../../src/nn/index.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { writeSyntheticSet } from './synthetic.js';

// The same 4-step run with and without config.preciseBn: the pass changes the BN running
// statistics and nothing else of the checkpoint (weights, num_batches_tracked, optimiser state
// bit for bit); without the option config.json names no preciseBn (a run as before it existed).
test('preciseBn changes only the running BN statistics of the final checkpoint', { timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-precise-bn-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 1, seed: 5 });
  const config = (runDir: string, extra: Partial<TrainConfigInput>) =>
    parseTrainConfig({
      data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 64, workers: 0, prefetch: 1 },
      model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 },
      batchSize: 2,
      epochs: 1, // 4 steps
      optim: { optimizer: 'adamw', lr: 1e-3 },
      run: { dir: runDir, threads: 2, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
      ...extra,
    });
  const plain = await train(config(join(dir, 'plain'), {}));
  const precise = await train(config(join(dir, 'precise'), { preciseBn: { batches: 3 } }));
  assert.ok(!('preciseBn' in JSON.parse(await readFile(join(dir, 'plain', 'config.json'), 'utf8'))));
  const a = await loadSafetensors(join(plain.lastCheckpoint!, 'model.safetensors'));
  const b = await loadSafetensors(join(precise.lastCheckpoint!, 'model.safetensors'));
  let statistics = 0;
  for (const [k, x] of a.tensors) {
    const same = Buffer.from(x.toTypedArray().buffer).equals(Buffer.from(b.tensors.get(k)!.toTypedArray().buffer));
    if (/running_(mean|var)$/.test(k)) statistics += same ? 0 : 1;
    else assert.ok(same, `${k} differs`);
  }
  assert.ok(statistics > 10, `${statistics} running statistics changed`);
  const oa = await loadSafetensors(join(plain.lastCheckpoint!, 'optimizer.safetensors'));
  const ob = await loadSafetensors(join(precise.lastCheckpoint!, 'optimizer.safetensors'));
  for (const [k, x] of oa.tensors) assert.ok(Buffer.from(x.toTypedArray().buffer).equals(Buffer.from(ob.tensors.get(k)!.toTypedArray().buffer)), k);
});
