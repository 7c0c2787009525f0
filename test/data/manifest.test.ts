import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defactoManifest, defactoMaskPath } from '../../src/data/defacto.js';
import { formatStats, manifestStats, type ManifestEntry } from '../../src/data/manifest.js';

const entry = (split: string, method: string, video: string, frame: number): ManifestEntry => ({
  split,
  method,
  compression: 'c23',
  video,
  frame,
  image: `${method}/${video}/${frame}.png`,
  mask: method === 'youtube' ? null : `Mask/${method}/${video}/${frame}.png`,
  label: method === 'youtube' ? 0 : 1,
});

test('Table-1 counts: train pairs every fake with its real, val/test count distinct reals', () => {
  const frames = [0, 15];
  const rows: ManifestEntry[] = [];
  for (const [split, a, b] of [
    ['train', '000', '001'],
    ['test', '002', '003'],
  ] as const) {
    for (const f of frames) {
      rows.push(entry(split, 'youtube', a, f), entry(split, 'youtube', b, f));
      for (const m of ['Deepfakes', 'FaceSwap']) rows.push(entry(split, m, `${a}_${b}`, f), entry(split, m, `${b}_${a}`, f));
    }
  }
  const [s] = manifestStats(rows);
  assert.deepEqual(s!.fakes, { Deepfakes: { train: 4, test: 4 }, FaceSwap: { train: 4, test: 4 } });
  assert.deepEqual(s!.pairedReals, { train: 8, test: 8 });
  assert.deepEqual(s!.distinctReals, { train: 4, test: 4 });
  assert.deepEqual(s!.total, { train: 16, test: 12 }); // 8 fakes + 8 paired reals; 8 fakes + 4 distinct reals
  assert.match(formatStats([s!]), /total \(Table 1\)\s+16\s+12/);
});

test('DEFACTO: the list decides, fake masks follow the reference rule, missing files are reported', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'msccnet-defacto-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const touch = async (p: string): Promise<void> => {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), 'x'); // not empty: empty files are no images
  };
  assert.equal(defactoMaskPath('/d/Image/fake/0.jpg_IN_1.jpg.tif'), '/d/Mask/fake/0.jpg_IN_1.jpg');
  for (const p of ['Image/fake/0.jpg_IN_1.jpg.tif', 'Mask/fake/0.jpg_IN_1.jpg', 'Image/fake/5.jpg_IN_2.jpg.tif', 'Image/real/r1.jpg']) await touch(p);
  const scanned = await defactoManifest(root, root);
  assert.deepEqual(
    scanned.entries.map((e) => [e.image, e.mask, e.label]),
    [
      ['Image/fake/0.jpg_IN_1.jpg.tif', 'Mask/fake/0.jpg_IN_1.jpg', 1],
      ['Image/real/r1.jpg', null, 0],
    ],
  );
  assert.deepEqual(scanned.skipped, [{ image: 'Image/fake/5.jpg_IN_2.jpg.tif', reason: 'mask Mask/fake/5.jpg_IN_2.jpg not found' }]);
  await writeFile(join(root, 'test_vis.txt'), 'Image/real/r1.jpg 0\nImage/fake/0.jpg_IN_1.jpg.tif 1\nImage/real/gone.jpg 0\n');
  const listed = await defactoManifest(root, join(root, 'out'));
  assert.deepEqual(
    listed.entries.map((e) => [e.image, e.label, e.split]),
    [
      ['../Image/real/r1.jpg', 0, 'test'],
      ['../Image/fake/0.jpg_IN_1.jpg.tif', 1, 'test'],
    ],
  );
  assert.deepEqual(listed.skipped, [{ image: '../Image/real/gone.jpg', reason: 'image file not found' }]);
});
