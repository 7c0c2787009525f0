/**
 * annotate under hostile input (issue 19): no two pairs may share an output, the diff folder is
 * not the mask folder, an existing output counts only when it is a complete PNG, devices and
 * oversized images are refused without being read, workers are bounded by the cores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { annotatePairs, type AnnotateEvent, type Pair } from '../../src/annotate/index.js';
import { ArgumentError } from '../../src/errors.js';
import { readGray } from '../../src/image/index.js';
import { annotationFixture } from '../helpers/annotation-fixture.js';

const { pairs } = await annotationFixture();
const official = pairs.filter((p) => p.official === 'mask');
const tmp = await mkdtemp(join(tmpdir(), 'msccnet-annotate-hostile-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

test('defect 3: two pairs with one output name are rejected before any work starts', async () => {
  const out = join(tmp, 'dup');
  const list: Pair[] = [
    { real: official[0].real, fake: official[0].fake, output: 'same.png' },
    { real: official[1].real, fake: official[1].fake, output: 'other.png' },
    { real: official[2].real, fake: official[2].fake, output: 'same.png' },
  ];
  await assert.rejects(annotatePairs(list, { out, workers: 1 }), (err: unknown) => err instanceof ArgumentError && /same\.png/.test(err.message));
  assert.deepEqual(await readdir(out).catch(() => []), [], 'nothing was written');
});

test('defect 3: --diff equal to --out is rejected', async () => {
  const out = join(tmp, 'same-dir');
  const list: Pair[] = [{ real: official[0].real, fake: official[0].fake, output: 'a.png' }];
  await assert.rejects(annotatePairs(list, { out, diffDir: out, workers: 1 }), (err: unknown) => err instanceof ArgumentError && /diff/.test(err.message));
});

test('defect 3: an empty or torn existing mask does not count as done; it is recomputed', async () => {
  const out = join(tmp, 'resume');
  await mkdir(out, { recursive: true });
  const [a, b] = official;
  await writeFile(join(out, 'a.png'), Buffer.alloc(0));
  await writeFile(join(out, 'b.png'), (await sharp(a.mask!).png().toBuffer()).subarray(0, 60));
  const events: AnnotateEvent[] = [];
  const report = await annotatePairs(
    [
      { real: a.real, fake: a.fake, output: 'a.png' },
      { real: b.real, fake: b.fake, output: 'b.png' },
    ],
    { out, workers: 1, onProgress: (e) => events.push(e) },
  );
  assert.equal(report.summary.annotated, 2);
  const finished = events.find((e) => e.kind === 'finished');
  assert.equal(finished?.kind === 'finished' && finished.reused, 0);
  assert.deepEqual((await readGray(join(out, 'a.png'))).data, (await readGray(a.mask!)).data);
  assert.deepEqual((await readGray(join(out, 'b.png'))).data, (await readGray(b.mask!)).data);
});

test('defect 7: a device is never read; an image over maxPixels is refused; workers are capped at the cores', { timeout: 60_000 }, async () => {
  const out = join(tmp, 'bounds');
  const big = join(tmp, 'big.png');
  await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#808080' } })
    .png()
    .toFile(big);
  const events: AnnotateEvent[] = [];
  const report = await annotatePairs(
    [
      { real: '/dev/zero', fake: official[0].fake, output: 'zero.png' },
      { real: big, fake: big, output: 'big.png' },
      { real: official[0].real, fake: official[0].fake, output: 'ok-0.png' },
      { real: official[1].real, fake: official[1].fake, output: 'ok-1.png' },
      { real: official[2].real, fake: official[2].fake, output: 'ok-2.png' },
    ],
    { out, workers: 200, maxPixels: 1e6, onProgress: (e) => events.push(e) },
  );
  const [zero, huge] = report.pairs;
  assert.equal(zero.status === 'skipped' && zero.reason, 'unreadable');
  assert.match(zero.status === 'skipped' ? zero.message : '', /regular file/);
  assert.equal(huge.status === 'skipped' && huge.reason, 'too-large');
  assert.match(huge.status === 'skipped' ? huge.message : '', /1200×1000/);
  assert.equal(report.summary.annotated, 3);
  const start = events.find((e) => e.kind === 'start');
  assert.ok(start?.kind === 'start' && start.workers <= availableParallelism(), `workers ${start?.kind === 'start' && start.workers}`);
});
