import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { IGNORE, trainTransform, evalTransform, MEAN_RGB, STD_RGB } from '../../src/samples/augment.js';
import { officialPreprocess } from '../../src/image/preprocess.js';
import { decodeSample, pairedTrainList, readManifestSamples, readReferenceLayout, type Sample } from '../../src/samples/dataset.js';
import { DatasetError } from '../../src/samples/errors.js';
import { runTask } from '../../src/samples/load.js';
import { SamplePool, trainBatches } from '../../src/samples/loader.js';
import { loadImageOps } from '../../src/image/index.js';
import { Rng } from '../../src/samples/rng.js';

const dir = await mkdtemp(join(tmpdir(), 'msccnet-data-'));
const png = async (path: string, w: number, h: number, channels: 1 | 3, fill: (i: number) => number): Promise<string> => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(
    path,
    await sharp(
      Uint8Array.from({ length: w * h * channels }, (_, i) => fill(i)),
      { raw: { width: w, height: h, channels } },
    )
      .png()
      .toBuffer(),
  );
  return path;
};
const rgb = await png(join(dir, 'img.png'), 40, 30, 3, (i) => (i % 3 === 0 ? 200 : i % 3 === 1 ? 100 : 10));
const mask = await png(join(dir, 'mask.png'), 40, 30, 1, (i) => (i % 40 < 20 ? 255 : 0));
const wrongMask = await png(join(dir, 'mask-small.png'), 20, 30, 1, () => 0);
await writeFile(join(dir, 'corrupt.png'), 'not a png');
const sample = (over: Partial<Sample>): Sample => ({
  id: 'x',
  image: rgb,
  mask,
  label: 1,
  method: 'Deepfakes',
  compression: 'c23',
  split: 'train',
  video: '000_001',
  frame: 0,
  ...over,
});
const ops = await loadImageOps();

test('decoding gives BGR (as cv2.imread) and the grayscale mask; a real without mask file gets zeros', async () => {
  const d = await decodeSample(sample({}));
  assert.deepEqual([d.width, d.height, d.bgr[0], d.bgr[1], d.bgr[2], d.mask[0], d.mask[39]], [40, 30, 10, 100, 200, 255, 0]);
  const real = await decodeSample(sample({ label: 0, mask: null }));
  assert.ok(real.mask.every((v) => v === 0) && real.mask.length === 1200);
  const realMissing = await decodeSample(sample({ label: 0, mask: join(dir, 'absent.png') }));
  assert.ok(realMissing.mask.every((v) => v === 0));
});

test('a mask whose size differs from its image is an error naming both files', async () => {
  await assert.rejects(decodeSample(sample({ mask: wrongMask })), (e: unknown) => {
    assert.ok(e instanceof DatasetError);
    assert.ok(e.message.includes(wrongMask) && e.message.includes(rgb), e.message);
    return true;
  });
  const r = await runTask(ops, { kind: 'eval', sample: sample({ mask: wrongMask }), spec: officialPreprocess(32) });
  assert.ok(!r.ok && !r.skip && r.code === 'MSCCNET_DATASET');
});

test('missing or corrupt files are skipped with their path and counted per batch', async () => {
  const missing = join(dir, 'missing.png');
  const list = [sample({}), sample({ image: missing }), sample({ image: join(dir, 'corrupt.png') }), sample({ label: 0, mask: null })];
  const pool = await SamplePool.create(0);
  const batches = [];
  for await (const b of trainBatches(pool, list, {
    order: [0, 1, 2, 3],
    batchSize: 4,
    batches: 1,
    start: 0,
    seed: 1,
    epoch: 0,
    prefetch: 1,
    transform: { preset: 'official', cropSize: 32, scaleBase: 33 },
  }))
    batches.push(b);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].count, 2);
  assert.deepEqual(
    batches[0].skipped.map((s) => s.path),
    [missing, join(dir, 'corrupt.png')],
  );
  assert.match(batches[0].skipped[0].reason, /file not found/);
  assert.match(batches[0].skipped[1].reason, /cannot be decoded/);
});

test('official transform: S×S output, keyed randomness, padding 0 (mean colour) / 255 (ignored), 0/1 targets', async () => {
  const d = await decodeSample(sample({}));
  const o = { preset: 'official' as const, cropSize: 64, scaleBase: 65 };
  const a = trainTransform(ops, d, new Rng(7, 0, 3), o);
  const b = trainTransform(ops, d, new Rng(7, 0, 3), o);
  assert.deepEqual(a, b);
  assert.equal(a.image.length, 3 * 64 * 64);
  assert.ok(a.target.every((v) => v === 0 || v === 1 || v === IGNORE));
  // 40×30 rescaled to ≤ 2·65 on the long side: the short side stays below 64 for many draws, then padding shows
  let padded = 0;
  for (let k = 0; k < 20; k++) {
    const t = trainTransform(ops, d, new Rng(7, 1, k), o);
    if (t.target[0] === IGNORE) {
      padded++;
      assert.equal(t.image[0], 0);
    }
  }
  assert.ok(padded > 0);
});

test('paper preset flips only; eval transform normalises with the ImageNet mean/std in RGB order', async () => {
  const d = await decodeSample(sample({}));
  const flips = new Set<number>();
  for (let k = 0; k < 16; k++) flips.add(trainTransform(ops, d, new Rng(3, k), { preset: 'paper', cropSize: 40, scaleBase: 41 }).target[0]);
  assert.deepEqual([...flips].sort(), [0, 1]); // left half fake: a flip moves it right
  const x = evalTransform(await decodeSample(sample({ image: rgb })), officialPreprocess(16));
  assert.ok(Math.abs(x[0] - (200 - MEAN_RGB[0]) / STD_RGB[0]) < 1e-5);
  assert.ok(Math.abs(x[16 * 16] - (100 - MEAN_RGB[1]) / STD_RGB[1]) < 1e-5);
});

test('manifest lines that are not entries are reported; reals pair with the fakes of their frame', async () => {
  const lines = [
    { split: 'train', compression: 'c23', method: 'youtube', video: '000', frame: 3, image: 'a/youtube/000/003.png', mask: null, label: 0 },
    { split: 'train', compression: 'c23', method: 'Deepfakes', video: '000_001', frame: 3, image: 'a/Deepfakes/000_001/003.png', mask: 'm.png', label: 1 },
    { split: 'train', compression: 'c23', method: 'FaceSwap', video: '000_001', frame: 3, image: 'a/FaceSwap/000_001/003.png', mask: 'm.png', label: 1 },
    { split: 'test', compression: 'c23', method: 'youtube', video: '002', frame: 3, image: 'a/youtube/002/003.png', mask: null, label: 0 },
  ].map((l) => JSON.stringify(l));
  const path = join(dir, 'manifest.jsonl');
  await writeFile(path, `${lines.join('\n')}\n{broken\n{"image": 3}\n`);
  const r = await readManifestSamples(path, { split: 'train', compression: 'C23', methods: ['Deepfakes', 'FaceSwap'] });
  assert.equal(r.samples.length, 3);
  assert.deepEqual(
    r.skipped.map((s) => s.where),
    [`${path}:5`, `${path}:6`],
  );
  assert.equal(r.samples[0].image, join(dir, 'a/youtube/000/003.png'));
  assert.equal(r.samples[1].id, 'Deepfakes_000_001_003.png');
  const paired = pairedTrainList(r.samples);
  assert.deepEqual(
    paired.map((s) => s.method),
    ['Deepfakes', 'youtube', 'FaceSwap', 'youtube'],
  );
});

test('reference folder layout: split file, fake/real pairs, Mask paths', async () => {
  const root = join(dir, 'Pixel_FF++');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'train.txt'), '000_001\n002_003');
  await png(join(root, 'C40', 'Deepfakes', '000_001', '000_0.png'), 4, 4, 3, () => 1);
  await png(join(root, 'C40', 'Deepfakes', '000_001', '015_0.png'), 4, 4, 3, () => 1);
  const r = await readReferenceLayout(root, { split: 'train', compression: 'c40', methods: ['Deepfakes'] });
  assert.deepEqual(
    r.samples.map((s) => s.id),
    ['Deepfakes_000_001_000_0.png', 'youtube_000_000_0.png', 'Deepfakes_000_001_015_0.png', 'youtube_000_015_0.png'],
  );
  assert.equal(r.samples[0].mask, join(root, 'Mask', 'Deepfakes', '000_001', '000_0.png'));
  assert.equal(r.samples[1].image, join(root, 'C40', 'youtube', '000', '000_0.png'));
  assert.deepEqual(
    r.skipped.map((s) => s.where),
    [join(root, 'C40', 'Deepfakes', '002_003')],
  );
});

test('skip reasons are worded from the file alone, the same in every run and under concurrent decodes (issue 31, item 17)', async () => {
  const bad = join(dir, 'bad');
  await mkdir(bad, { recursive: true });
  const jpeg = await sharp(rgb).jpeg().toBuffer();
  const files: Record<string, [bytes: Uint8Array | string, reason: string]> = {
    'empty.png': ['', 'cannot be decoded: the file is empty'],
    'text.jpg': ['hello, not an image', 'cannot be decoded: not a PNG, JPEG or WebP image (unrecognised first bytes)'],
    'cut.jpg': [jpeg.subarray(0, 40), 'cannot be decoded: the JPEG data is truncated or corrupt'],
    'cut.png': [(await readFile(rgb)).subarray(0, 60), 'cannot be decoded: the PNG data is truncated or corrupt'],
  };
  for (const [name, [bytes]] of Object.entries(files)) await writeFile(join(bad, name), bytes);
  const reasons = async (): Promise<string[]> => {
    const results = await Promise.all(
      Object.keys(files).flatMap((name) =>
        Array.from({ length: 4 }, () => runTask(ops, { kind: 'eval', sample: sample({ image: join(bad, name), mask: null }), spec: officialPreprocess(32) })),
      ),
    );
    return results.map((r) => (r.ok || !r.skip ? 'not skipped' : r.reason));
  };
  const expected = Object.entries(files).flatMap(([name, [, reason]]) => Array<string>(4).fill(`${join(bad, name)}: ${reason}`));
  assert.deepEqual(await reasons(), expected);
  assert.deepEqual(await reasons(), expected, 'the same again');
});

test('a pool whose decoding thread died refuses every later task at once (a pool lent to many runs must not hang them)', { timeout: 30_000 }, async () => {
  const pool = await SamplePool.create(1);
  try {
    const eval32 = { kind: 'eval', sample: sample({}), spec: officialPreprocess(32) } as const;
    assert.ok((await pool.run(eval32)).ok, 'the live pool decodes');
    // what an out-of-memory kill or a native crash of the thread looks like from here: it exits
    const [worker] = (pool as unknown as { workers: import('node:worker_threads').Worker[] }).workers;
    await worker!.terminate();
    await assert.rejects(pool.run(eval32), (e: unknown) => e instanceof DatasetError && /decoding thread stopped/.test(e.message));
  } finally {
    await pool.close();
  }
});
