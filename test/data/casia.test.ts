import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { forgeryManifest } from '../../src/data/casia.js';

/** One-byte files at the given paths under root (the loaders check that a file is there and not empty, not its content). */
async function touch(root: string, paths: readonly string[]): Promise<void> {
  for (const p of paths) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), 'x');
  }
}

test('CASIA v1.0 (MVSS-Net layout): Au authentic, TP/Sp and TP/CM tampered with mask/<kind>/<stem>_gt.png; a missing mask is skipped', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'msccnet-casia1-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await touch(root, [
    'Au/Au_ani_0001.jpg',
    'Au/Au_cha_0048.JPG',
    'TP/Sp/Sp_D_NRN_A_sec0013_art0029_0547.jpg',
    'mask/Sp/Sp_D_NRN_A_sec0013_art0029_0547_gt.png',
    'TP/CM/Sp_S_CND_A_pla0005_pla0005_0281.jpg',
    'mask/CM/Sp_S_CND_A_pla0005_pla0005_0281_gt.png',
    'TP/Sp/Sp_D_NNN_A_no_mask_0001.jpg',
  ]);
  const r = await forgeryManifest('casia1', root, root);
  assert.deepEqual(
    r.entries.map((e) => [e.image, e.mask, e.label, e.method, e.split]),
    [
      ['TP/Sp/Sp_D_NRN_A_sec0013_art0029_0547.jpg', 'mask/Sp/Sp_D_NRN_A_sec0013_art0029_0547_gt.png', 1, 'CASIAv1/Sp', 'test'],
      ['TP/CM/Sp_S_CND_A_pla0005_pla0005_0281.jpg', 'mask/CM/Sp_S_CND_A_pla0005_pla0005_0281_gt.png', 1, 'CASIAv1/CM', 'test'],
      ['Au/Au_ani_0001.jpg', null, 0, 'real', 'test'],
      ['Au/Au_cha_0048.JPG', null, 0, 'real', 'test'],
    ],
  );
  assert.deepEqual(r.skipped, [{ image: 'TP/Sp/Sp_D_NNN_A_no_mask_0001.jpg', reason: 'mask mask/Sp/Sp_D_NNN_A_no_mask_0001_gt.png not found' }]);
});

test('CASIA v2.0 (training set): tampered/<stem>.{jpg,tif} with mask/<stem>_gt.png, Au authentic, split train', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'msccnet-casia2-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await touch(root, [
    'tampered/Tp_D_NRN_M_B_cha10162_nat10142_12254.jpg',
    'mask/Tp_D_NRN_M_B_cha10162_nat10142_12254_gt.png',
    'tampered/Tp_S_CNN_M_N_arc00040_arc00040_10238.tif',
    'mask/Tp_S_CNN_M_N_arc00040_arc00040_10238_gt.png',
    'Au/Au_ani_00001.jpg',
  ]);
  const r = await forgeryManifest('casia2', root, root);
  assert.deepEqual(
    r.entries.map((e) => [e.image, e.mask, e.label, e.split]),
    [
      ['tampered/Tp_D_NRN_M_B_cha10162_nat10142_12254.jpg', 'mask/Tp_D_NRN_M_B_cha10162_nat10142_12254_gt.png', 1, 'train'],
      ['tampered/Tp_S_CNN_M_N_arc00040_arc00040_10238.tif', 'mask/Tp_S_CNN_M_N_arc00040_arc00040_10238_gt.png', 1, 'train'],
      ['Au/Au_ani_00001.jpg', null, 0, 'train'],
    ],
  );
  assert.deepEqual(r.skipped, []);
});

test('COVERAGE: tampered/<n>t.tif with mask/<n>forged.tif, Au/<n>.tif; an MVSS-Net list file decides when given', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'msccnet-cover-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await touch(root, [
    'COVER/tampered/95t.tif',
    'COVER/mask/95forged.tif',
    'COVER/tampered/8t.tif',
    'COVER/mask/8forged.tif',
    'COVER/Au/95.tif',
    'COVER/Au/8.tif',
  ]);
  const scanned = await forgeryManifest('coverage', join(root, 'COVER'), root);
  assert.deepEqual(
    scanned.entries.map((e) => [e.image, e.mask, e.label]),
    [
      ['COVER/tampered/8t.tif', 'COVER/mask/8forged.tif', 1],
      ['COVER/tampered/95t.tif', 'COVER/mask/95forged.tif', 1],
      ['COVER/Au/8.tif', null, 0],
      ['COVER/Au/95.tif', null, 0],
    ],
  );
  const list = join(root, 'COVERAGE.txt'); // MVSS-Net's data/COVERAGE.txt format, paths from the data root
  await writeFile(list, './COVER/tampered/95t.tif ./COVER/mask/95forged.tif 1\n./COVER/Au/8.tif None 0\n./COVER/tampered/1t.tif ./COVER/mask/1forged.tif 1\n');
  const listed = await forgeryManifest('coverage', join(root, 'COVER'), root, list);
  assert.deepEqual(
    listed.entries.map((e) => [e.image, e.mask, e.label, e.method]),
    [
      ['COVER/tampered/95t.tif', 'COVER/mask/95forged.tif', 1, 'COVERAGE/tampered'],
      ['COVER/Au/8.tif', null, 0, 'real'],
    ],
  );
  assert.deepEqual(listed.skipped, [{ image: 'COVER/tampered/1t.tif', reason: 'image file not found' }]);
  await assert.rejects(forgeryManifest('coverage', join(root, 'nothing'), root), /holds none of the COVERAGE folders/);
});
