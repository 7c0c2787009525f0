/** A resume checks what it resumes: the training list the run started with (issue 31, item 3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { CheckpointError } from '../../src/train/errors.js';
import { writeSyntheticSet } from './synthetic.js';

test('train --resume refuses a data list that changed since the run started (the manifest rewritten at the same path)', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-data-list-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 1, seed: 3 });
  const config = (maxSteps: number): ReturnType<typeof parseTrainConfig> =>
    parseTrainConfig({
      data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'official', cropSize: 64, scaleBase: 65, workers: 0, prefetch: 1 },
      model: { backboneDepth: 18, inputSize: 64, featsChannels: 64 },
      batchSize: 2,
      epochs: 10,
      optim: { lr: 0.01 },
      run: { dir: join(dir, 'run'), maxSteps, threads: 2, valEveryEpochs: 100, checkpointEveryEpochs: 100, checkpointEverySteps: 1, keepLast: 1 },
    } satisfies TrainConfigInput);
  await train(config(1));
  const original = await readFile(set.manifest, 'utf8');
  const lines = original.trim().split('\n');
  const dropped = lines.findIndex((l) => (JSON.parse(l) as { split: string }).split === 'train');
  await writeFile(set.manifest, `${lines.filter((_, i) => i !== dropped).join('\n')}\n`); // one training entry fewer
  await assert.rejects(train(config(2), { resume: true }), (e: CheckpointError) => {
    assert.equal(e.code, 'MSCCNET_CHECKPOINT');
    assert.match(
      e.problem,
      /data\.json: was written for another data list: .*manifest\.jsonl now gives \d+ training samples \(sha256:[0-9a-f]{64}\), the run started on \d+/,
    );
    return true;
  });
  await writeFile(set.manifest, original); // the data is back: the run resumes
  const resumed = await train(config(2), { resume: true });
  assert.equal(resumed.step, 2);
});
