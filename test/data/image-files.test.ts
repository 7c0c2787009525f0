/** Dataset listings take only real image files (issue 31, items 19 and 8): folders, empty files and link loops are skipped, named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defactoManifest } from '../../src/data/defacto.js';
import { forgeryManifest } from '../../src/data/casia.js';

test('defacto and casia listings skip folders, 0-byte files, dangling links and link loops, each with its reason', { timeout: 20_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-image-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fake = join(dir, 'defacto', 'Image', 'fake');
  const masks = join(dir, 'defacto', 'Mask', 'fake');
  await mkdir(fake, { recursive: true });
  await mkdir(masks, { recursive: true });
  await writeFile(join(fake, 'good.jpg.tif'), 'x');
  await writeFile(join(masks, 'good.jpg'), 'x');
  await mkdir(join(fake, 'folder.jpg.tif')); // a folder named like an image
  await writeFile(join(fake, 'empty.jpg.tif'), '');
  await writeFile(join(fake, 'maskless.jpg.tif'), 'x');
  await writeFile(join(masks, 'maskless.jpg'), ''); // its mask is empty
  await symlink(join(fake, 'loop-b.jpg.tif'), join(fake, 'loop-a.jpg.tif'));
  await symlink(join(fake, 'loop-a.jpg.tif'), join(fake, 'loop-b.jpg.tif'));
  await symlink(join(fake, 'gone.png'), join(fake, 'dangling.jpg.tif'));
  const d = await defactoManifest(join(dir, 'defacto'), dir);
  assert.deepEqual(
    d.entries.map((e) => e.image),
    ['defacto/Image/fake/good.jpg.tif'],
  );
  assert.deepEqual(Object.fromEntries(d.skipped.map((s) => [s.image.replace('defacto/Image/fake/', ''), s.reason])), {
    'dangling.jpg.tif': 'image file not found',
    'empty.jpg.tif': 'image file is empty (0 bytes)',
    'folder.jpg.tif': 'image file is a folder, not an image file',
    'loop-a.jpg.tif': 'image file is a symbolic link loop',
    'loop-b.jpg.tif': 'image file is a symbolic link loop',
    'maskless.jpg.tif': 'mask defacto/Mask/fake/maskless.jpg is empty (0 bytes)',
  });

  const casia = join(dir, 'casia2');
  await mkdir(join(casia, 'Au', 'dir.jpg'), { recursive: true });
  await writeFile(join(casia, 'Au', 'ok.jpg'), 'x');
  await writeFile(join(casia, 'Au', 'zero.jpg'), '');
  await mkdir(join(casia, 'Tp'), { recursive: true });
  await symlink(join(casia, 'Tp', 'self.jpg'), join(casia, 'Tp', 'self.jpg'));
  const c = await forgeryManifest('casia2', casia, dir);
  assert.deepEqual(
    c.entries.map((e) => e.image),
    ['casia2/Au/ok.jpg'],
  );
  assert.deepEqual(c.skipped.map((s) => [s.image, s.reason]).sort(), [
    ['casia2/Au/dir.jpg', 'image file is a folder, not an image file'],
    ['casia2/Au/zero.jpg', 'image file is empty (0 bytes)'],
    ['casia2/Tp/self.jpg', 'image file is a symbolic link loop'],
  ]);
});
