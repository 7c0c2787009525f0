/**
 * Training fails closed (issue 31): a diverging run stops at its first non-finite loss with no
 * non-finite checkpoint, out-of-range rates are refused by the schema, and unreadable data ends
 * the run with one line while it stays resumable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { loadSafetensors } from '../../src/nn/index.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { stepName } from '../../src/train/checkpoint.js';
import { DivergedError } from '../../src/train/errors.js';
import { DatasetError } from '../../src/samples/errors.js';
import { train } from '../../src/train/trainer.js';
import { runCli } from '../helpers/cli.js';
import { writeSyntheticSet } from './synthetic.js';

const tiny = (
  manifest: string,
  runDir: string,
  extra: { optim?: TrainConfigInput['optim']; run?: TrainConfigInput['run']; epochs?: number } = {},
): TrainConfigInput => ({
  data: { manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 64, workers: 0, prefetch: 1 },
  model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 },
  batchSize: 2,
  epochs: extra.epochs ?? 1,
  optim: extra.optim ?? { lr: 0.01 },
  run: { dir: runDir, threads: 2, logEvery: 1, valEveryEpochs: 100, checkpointEveryEpochs: 100, ...extra.run },
});

const logRecords = async (runDir: string) =>
  (await readFile(join(runDir, 'log.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; step?: number; total?: number | null; message?: string });

test(
  'optim.lr=1e4 stops at its first non-finite loss, names the step and term, and no checkpoint holds a non-finite value',
  { timeout: 600_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-nan-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 8, val: 1, seed: 3 });
    const runDir = join(dir, 'run');
    let error: unknown = null;
    await train(parseTrainConfig(tiny(set.manifest, runDir, { optim: { lr: 1e4 }, run: { checkpointEverySteps: 1, keepLast: 100 } }))).catch((err: unknown) => {
      error = err;
    });
    assert.ok(error instanceof DivergedError, `stops with DivergedError, got ${String(error)}`);
    assert.equal(error.code, 'MSCCNET_NON_FINITE');
    assert.ok(!error.problem.includes('\n'));
    assert.match(error.problem, new RegExp(`^training diverged at step ${error.step}: (loss term '\\w+'|a gradient|the parameters) is `));
    const records = await logRecords(runDir);
    const steps = records.filter((r) => r.event === 'step');
    assert.ok(
      steps.every((r) => typeof r.total === 'number' && Number.isFinite(r.total)),
      'no step with a non-finite loss was logged',
    );
    assert.equal(Math.max(0, ...steps.map((r) => r.step!)), error.step - 1, 'it stopped at the first step that went non-finite');
    const checkpoints = (await readdir(join(runDir, 'checkpoints'))).filter((n) => n.startsWith('step'));
    assert.ok(checkpoints.length <= error.step - 1);
    for (const name of checkpoints) {
      for (const file of ['model.safetensors', 'optimizer.safetensors']) {
        const { tensors } = await loadSafetensors(join(runDir, 'checkpoints', name, file));
        for (const [key, tensor] of tensors) {
          const values = tensor.toTypedArray();
          if (values instanceof Float32Array) assert.ok(values.every(Number.isFinite), `${name}/${file}: ${key} is non-finite`);
        }
      }
    }
  },
);

test('the schema refuses out-of-range rates, decays and multipliers, naming the field', () => {
  const base = { data: { manifest: 'm.jsonl' } };
  for (const [input, field] of [
    [{ optim: { lr: 1e308 } }, 'optim.lr'],
    [{ optim: { weightDecay: 5 } }, 'optim.weightDecay'],
    [{ losses: { img_cls: 1e6 } }, 'losses.img_cls'],
    [{ optim: { power: 1e9 } }, 'optim.power'],
    [{ data: { manifest: 'm.jsonl', maxSkippedFraction: 2 } }, 'data.maxSkippedFraction'],
  ] as const) {
    assert.throws(
      () => parseTrainConfig({ ...base, ...input }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith(`${field}:`)),
      field,
    );
  }
  assert.equal(parseTrainConfig({ ...base, optim: { lr: 1e4 } }).optim.lr, 1e4, 'a diverging but representable rate is left to the NaN guard');
});

test(
  'a manifest whose images do not exist: each empty batch is a warned step without an update, then one line ends the run (CLI exit 1)',
  { timeout: 600_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-missing-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 8, val: 1, seed: 3 });
    await rm(join(set.dir, 'crops'), { recursive: true });
    const runDir = join(dir, 'run');
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify(tiny(set.manifest, runDir)));
    const r = await runCli(['train', '--config', config]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    const last = lines.findLastIndex((l) => l.startsWith('msccnet: ') && !l.startsWith('msccnet: warning'));
    assert.match(
      lines[last],
      /^msccnet: 8 of the 8 samples loaded since this run started could not be read \(more than data\.maxSkippedFraction 0\.25\), e\.g\. .*crops/,
    );
    assert.equal(last, lines.length - 2, 'the problem line, then its hint');
    assert.ok(!r.stderr.includes('TypeError') && !r.stderr.includes('    at '), r.stderr);
    const warnings = (await logRecords(runDir)).filter((l) => l.event === 'warning');
    assert.deepEqual(
      warnings.map((w) => w.step),
      [1, 2, 3],
      'three empty batches were steps without an update; the fourth reached the threshold',
    );
  },
);

test('images that vanish mid-run end it with one line; once back, --resume finishes the run', { timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-vanish-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 8, val: 1, seed: 3 });
  const runDir = join(dir, 'run');
  const crops = join(set.dir, 'crops');
  const config = parseTrainConfig(tiny(set.manifest, runDir, { run: { checkpointEverySteps: 2 } })); // 8 steps
  let error: unknown = null;
  await train(config, {
    onEvent: (e) => {
      // the data goes away after step 4 (checkpointed)
      if (e.kind === 'checkpoint' && e.step === 4) void rename(crops, `${crops}.away`);
    },
  }).catch((err: unknown) => {
    error = err;
  });
  assert.ok(error instanceof DatasetError, String(error));
  assert.match(error.problem, /could not be read/);
  assert.ok(existsSync(join(runDir, 'checkpoints', stepName(4))));
  await rename(`${crops}.away`, crops);
  const summary = await train(config, { resume: true });
  assert.equal(summary.step, config.epochs * 8);
});
