import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors } from '../../src/nn/index.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { writeSyntheticSet } from './synthetic.js';

// 20 steps straight vs 10 steps, stop, resume, 10 more: every tensor of the state dict (weights,
// BN statistics) and of the optimiser state (SGD's momentum; AdamW's moments and step counts) must be bit-identical.
for (const optim of [{ lr: 0.01 }, { optimizer: 'adamw', lr: 1e-3 }] as const) {
  test(`resume is bit-for-bit with ${'optimizer' in optim ? optim.optimizer : 'sgd'}: 20 steps = 10 + resume + 10`, { timeout: 1_800_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-resume-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 12, val: 2, seed: 5 });
    const base = (runDir: string, maxSteps: number): TrainConfigInput => ({
      data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'official', cropSize: 64, scaleBase: 65, workers: 1, prefetch: 2 },
      model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 }, // dropout 0.1 stays on: its draws must resume too
      batchSize: 2,
      epochs: 3,
      optim, // 12 steps per epoch: the resume crosses an epoch
      run: { dir: runDir, maxSteps, threads: 2, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
    });
    const straight = await train(parseTrainConfig(base(join(dir, 'a'), 20)));
    await train(parseTrainConfig(base(join(dir, 'b'), 10)));
    const resumed = await train(parseTrainConfig(base(join(dir, 'b'), 20)), { resume: true });
    assert.equal(straight.step, 20);
    assert.equal(resumed.step, 20);
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const a = await loadSafetensors(join(straight.lastCheckpoint!, file));
      const b = await loadSafetensors(join(resumed.lastCheckpoint!, file));
      assert.deepEqual([...a.tensors.keys()], [...b.tensors.keys()]);
      assert.ok(a.tensors.size > 0);
      for (const [k, t] of a.tensors) {
        const x = Buffer.from(t.toTypedArray().buffer);
        const y = Buffer.from(b.tensors.get(k)!.toTypedArray().buffer);
        assert.ok(x.equals(y), `${file}: ${k} differs`);
      }
    }
  });
}

test('a resume cuts log.jsonl back to its checkpoint: every step is logged once', { timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-resume-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 1, seed: 5 });
  const runDir = join(dir, 'run');
  const config = parseTrainConfig({
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 64, workers: 0, prefetch: 1 },
    model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 },
    batchSize: 2,
    epochs: 1, // 4 steps
    run: { dir: runDir, threads: 2, logEvery: 1, checkpointEverySteps: 2, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
  });
  // killed after step 3: the log holds step 3, the newest checkpoint is step 2
  const controller = new AbortController();
  await assert.rejects(
    train(config, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 3) controller.abort();
      },
    }),
  );
  const stepsIn = async () =>
    (await readFile(join(runDir, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; step?: number })
      .filter((r) => r.event === 'step')
      .map((r) => r.step);
  assert.deepEqual(await stepsIn(), [1, 2, 3]);
  await train(config, { resume: true });
  assert.deepEqual(await stepsIn(), [1, 2, 3, 4]);
});
