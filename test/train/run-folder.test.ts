/**
 * A run folder under hostile use (issue 19, defect 4): a new run never mixes with an old one, stale
 * temporary checkpoints go, and --resume skips an incomplete newest checkpoint and says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { writeSyntheticSet } from './synthetic.js';

test(
  'train: a used run folder needs --resume or --overwrite; stale temps go; --resume falls back to the newest complete checkpoint',
  { timeout: 600_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-run-folder-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 3 });
    const runDir = join(dir, 'run');
    const config = (maxSteps: number): ReturnType<typeof parseTrainConfig> =>
      parseTrainConfig({
        data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'official', cropSize: 64, scaleBase: 65, workers: 1, prefetch: 1 },
        model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 },
        batchSize: 2,
        epochs: 10,
        optim: { lr: 0.01 },
        run: { dir: runDir, maxSteps, threads: 2, valEveryEpochs: 100, checkpointEveryEpochs: 100, checkpointEverySteps: 1, keepLast: 2 },
      } satisfies TrainConfigInput);
    const ckpts = async () => (await readdir(join(runDir, 'checkpoints'))).filter((n) => n.startsWith('step-')).sort();

    const first = await train(config(4));
    assert.deepEqual(await ckpts(), ['step-00000003', 'step-00000004']);

    // a new run in the used folder is refused before it touches anything
    await assert.rejects(train(config(2)), (err: Error) => /--resume/.test(err.message) && /--overwrite/.test(err.message));
    assert.deepEqual(await ckpts(), ['step-00000003', 'step-00000004']);

    // --resume: a stale temp folder goes, and a newest checkpoint without its weights is skipped, with a note
    const stale = join(runDir, 'checkpoints', '.tmp-step-00000005-0badc0de');
    await mkdir(stale);
    await writeFile(join(stale, 'model.safetensors'), Buffer.alloc(1024));
    await rm(join(first.lastCheckpoint!, 'model.safetensors'));
    const resumed = await train(config(5), { resume: true });
    assert.ok(!existsSync(stale), 'the stale temp folder was removed');
    assert.equal(resumed.step, 5);
    assert.ok(
      resumed.notes.some((n) => n.includes('step-00000004') && n.includes('step-00000003')),
      resumed.notes.join('\n'),
    );
    const log = (await readFile(join(runDir, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; startStep?: number; message?: string });
    assert.equal(log.filter((r) => r.event === 'start').at(-1)?.startStep, 3);
    assert.ok(log.some((r) => r.event === 'note' && r.message?.includes('step-00000003')));

    // --overwrite starts afresh: the old run's files go, the new checkpoints are the ones reported
    const fresh = await train(config(2), { overwrite: true });
    assert.equal(fresh.step, 2);
    assert.deepEqual(await ckpts(), ['step-00000001', 'step-00000002']);
    assert.ok(existsSync(fresh.lastCheckpoint!));
    const freshLog = (await readFile(join(runDir, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    assert.equal(freshLog.filter((r) => r.event === 'start').length, 1, 'log.jsonl holds one run');
  },
);
