/**
 * A finished training run frees its model and optimiser state itself: in a process that trains
 * run after run (benchmark, demo), the next run reuses that memory instead of faulting in fresh
 * pages while the last run's tensors wait for GC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch } from '../../src/torch/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { buildModel, train } from '../../src/train/trainer.js';
import { oneStepBenchmarkConfig, writeSyntheticSet } from './synthetic.js';

test('train() frees the model, its gradients and the AdamW moments when it returns', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-run-memory-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 3 });
  const config = parseTrainConfig({ ...oneStepBenchmarkConfig(set.manifest), run: { ...oneStepBenchmarkConfig(set.manifest).run, dir: join(dir, 'run') } });
  // the parameter bytes of the run's model: alive with its gradients and two moments, the run would hold 4× this
  const probe = await buildModel(config);
  const parameterBytes = probe.parameters().reduce((n, p) => n + p.numel * 4, 0);
  probe.dispose();
  const before = torch.memory().allocatedBytes;
  const summary = await train(config);
  assert.equal(summary.step, 1);
  const left = torch.memory().allocatedBytes - before;
  assert.ok(left < parameterBytes / 2, `${left} bytes of tensors outlive the run (its parameters alone are ${parameterBytes})`);
});
