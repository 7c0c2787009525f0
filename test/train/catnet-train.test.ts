/**
 * CAT-Net through the data pipeline and the trainer: each crop's DCT volume and q-table are built
 * on the loader's threads (the crop JPEG-encoded at model.jpegQuality), batched, and fed to the
 * forward in the training step and in validation.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { catnetInputFromBytes } from '../../src/image/catnet-source.js';
import { officialPreprocess } from '../../src/image/preprocess.js';
import { CATNET_DCT_CHANNELS } from '../../src/models/catnet/index.js';
import { readManifestSamples } from '../../src/samples/dataset.js';
import { evalItems, SamplePool, trainBatches, type TrainBatch } from '../../src/samples/loader.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { writeSyntheticSet, type SyntheticSet } from './synthetic.js';
import { smallCatnet } from '../helpers/catnet-small.js';

const SIDE = 32;
const SMALL = smallCatnet(SIDE);

let dir: string;
let set: SyntheticSet;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msccnet-catnet-train-'));
  set = await writeSyntheticSet(join(dir, 'data'), { side: SIDE, train: 2, val: 1, seed: 5 });
});
test.after(() => rm(dir, { recursive: true, force: true }));

const listOptions = (split: string) => ({ split, compression: 'c23', methods: ['Deepfakes'] });

test('catnet trains 2 steps and validates through train() (1 loader thread): finite losses and metrics', { timeout: 120_000 }, async () => {
  const config = parseTrainConfig({
    method: 'catnet',
    model: SMALL,
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'official', scaleBase: SIDE + 1, workers: 1, prefetch: 1 },
    batchSize: 2,
    epochs: 1,
    run: { dir: join(dir, 'run'), valEveryEpochs: 1, checkpointEveryEpochs: 1, logEvery: 1, threads: 2 },
  });
  const r = await train(config);
  assert.equal(r.step, 2);
  const steps = (await readFile(join(config.run.dir, 'log.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.event === 'step');
  assert.equal(steps.length, 2);
  for (const s of steps) for (const k of ['seg', 'total']) assert.ok(Number.isFinite(s[k]) && (s[k] as number) > 0, `${k}: ${String(s[k])}`);
  assert.equal(r.validation!.counts.images, 2);
  assert.ok(Number.isFinite(r.validation!.official.mIoU));
});

test('the loader builds the DCT inputs: an S×S PNG sample equals catnetInputFromBytes on its bytes; train crops are one-hot with the q=100 table', async () => {
  const { samples } = await readManifestSamples(set.manifest, listOptions('val'));
  const jpegQuality = 100;
  const pool = await SamplePool.create(1); // the arrays cross a thread boundary (transfer lists)
  try {
    const items = [];
    for await (const it of evalItems(pool, samples, { spec: officialPreprocess(SIDE), prefetch: 2, dct: { jpegQuality } })) items.push(it);
    assert.equal(items.length, samples.length);
    const plane = SIDE * SIDE;
    for (const it of items) {
      const want = await catnetInputFromBytes(new Uint8Array(await readFile(it.sample.image)), { jpegQuality });
      assert.ok(want.reencoded);
      assert.deepEqual(it.image, want.x.subarray(0, 3 * plane));
      assert.deepEqual(it.aux!.dctVolume, want.x.subarray(3 * plane));
      assert.deepEqual(it.aux!.qtable, want.qtable);
    }

    const train = (await readManifestSamples(set.manifest, listOptions('train'))).samples;
    const o = { order: [0, 1, 2, 3], batchSize: 4, batches: 1, start: 0, seed: 3, epoch: 0, prefetch: 1 };
    // scaleBase 20: the crop is smaller than S at every draw, so the canvas has padding
    const transform = { preset: 'official' as const, cropSize: SIDE, scaleBase: 20 };
    const [plain, withDct]: TrainBatch[][] = [[], []];
    for await (const b of trainBatches(pool, train, { ...o, transform })) plain.push(b);
    for await (const b of trainBatches(pool, train, { ...o, transform, dct: { jpegQuality } })) withDct.push(b);
    const [a, b] = [plain[0]!, withDct[0]!];
    assert.equal(a.aux, undefined);
    assert.deepEqual(b.targets, a.targets); // the same augmentation draws
    const { dctVolume, qtable } = b.aux!;
    assert.equal(dctVolume.length, 4 * CATNET_DCT_CHANNELS * plane);
    assert.deepEqual(qtable, new Float32Array(4 * 64).fill(1)); // quality 100: the all-ones table
    for (let n = 0; n < 4; n++) {
      for (let i = 0; i < plane; i++) {
        let sum = 0;
        for (let c = 0; c < CATNET_DCT_CHANNELS; c++) sum += dctVolume[(n * CATNET_DCT_CHANNELS + c) * plane + i];
        assert.equal(sum, 1, `sample ${n} pixel ${i}: one channel per position`);
        // padding (target 255) is 0 in the image, as the transform pads
        if (b.targets[n * plane + i] === 255) for (let c = 0; c < 3; c++) assert.equal(b.images[(n * 3 + c) * plane + i], 0);
      }
    }
    assert.ok(b.targets.includes(255), 'the crops are padded');
  } finally {
    await pool.close();
  }
});
