import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFaceForensicsPairs, readPairList } from '../../src/annotate/index.js';
import { InputFileError } from '../../src/errors.js';

const tmp = await mkdtemp(join(tmpdir(), 'msccnet-pairs-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

test('a pair list resolves paths against its own folder and checks every line', async () => {
  await mkdir(join(tmp, 'lists'), { recursive: true });
  const list = join(tmp, 'lists', 'pairs.txt');
  await writeFile(list, '# comment\n\nr/a.png  f/a.png\tDeepfakes/000_001/a.png\n/abs/r.png /abs/f.png b.png\n');
  assert.deepEqual(await readPairList(list), [
    { real: join(tmp, 'lists', 'r/a.png'), fake: join(tmp, 'lists', 'f/a.png'), output: join('Deepfakes', '000_001', 'a.png') },
    { real: '/abs/r.png', fake: '/abs/f.png', output: 'b.png' },
  ]);
  for (const bad of ['a.png b.png\n', 'a.png b.png ../escape.png\n', 'a.png b.png /abs.png\n', 'a.png b.png mask.jpg\n']) {
    await writeFile(list, bad);
    await assert.rejects(readPairList(list), InputFileError, bad);
  }
  await assert.rejects(readPairList(join(tmp, 'missing.txt')), InputFileError);
});

test('FF++ folders pair <method>/<tgt>_<src>/<frame> with youtube/<tgt>/<frame>, sorted', async () => {
  const root = join(tmp, 'ff');
  for (const p of [
    'youtube/071/000.png',
    'Face2Face/071_054/015.png',
    'Face2Face/071_054/000.png',
    'Deepfakes/071_054/000.png',
    'Deepfakes/071_054/notes.txt',
  ]) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), '');
  }
  const pairs = await listFaceForensicsPairs(root, root);
  assert.deepEqual(
    pairs.map((p) => [p.output, p.real, p.fake]),
    [
      ['Deepfakes/071_054/000.png', join(root, 'youtube/071/000.png'), join(root, 'Deepfakes/071_054/000.png')],
      ['Face2Face/071_054/000.png', join(root, 'youtube/071/000.png'), join(root, 'Face2Face/071_054/000.png')],
      ['Face2Face/071_054/015.png', join(root, 'youtube/071/015.png'), join(root, 'Face2Face/071_054/015.png')],
    ],
  );
  assert.deepEqual(await listFaceForensicsPairs(join(root, 'youtube'), root), pairs, '--real may name the youtube folder itself');
});
