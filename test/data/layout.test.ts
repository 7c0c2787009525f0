import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readSplits, scanFfpp, targetOf } from '../../src/data/layout.js';
import { enlargeBox } from '../../src/data/crops.js';
import { InputFileError } from '../../src/errors.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-layout-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
const touch = async (path: string): Promise<void> => {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '');
};

test('splits list both directions of each official pair; the reference drops are optional and named', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'train.json'),
    JSON.stringify([
      ['604', '703'],
      ['071', '054'],
    ]),
  );
  await writeFile(join(dir, 'val.json'), JSON.stringify([['115', '939']]));
  await writeFile(
    join(dir, 'test.json'),
    JSON.stringify([
      ['227', '169'],
      ['953', '974'],
    ]),
  );
  const all = await readSplits(dir);
  assert.deepEqual(all.names, {
    train: ['604_703', '703_604', '071_054', '054_071'],
    val: ['115_939', '939_115'],
    test: ['227_169', '169_227', '953_974', '974_953'],
  });
  assert.deepEqual(all.dropped, []);
  const ref = await readSplits(dir, { dropReferenceMissing: true });
  assert.deepEqual(ref.dropped, ['604_703', '115_939', '227_169']);
  assert.deepEqual(ref.names.train, ['703_604', '071_054', '054_071']);
  await writeFile(join(dir, 'val.json'), '{"not": "pairs"}');
  await assert.rejects(readSplits(dir), InputFileError);
});

test('the FF++ download layout is read per method and compression', async (t) => {
  const root = await tempDir(t);
  for (const f of [
    'original_sequences/youtube/raw/videos/000.mp4',
    'original_sequences/youtube/c23/videos/000.mp4',
    'original_sequences/youtube/c40/videos/001.mp4',
    'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4',
    'manipulated_sequences/FaceShifter/raw/videos/001_000.mp4',
    'manipulated_sequences/Deepfakes/c23/videos/notes.txt',
  ])
    await touch(join(root, f));
  const tree = await scanFfpp(root);
  assert.deepEqual([...tree.originals.keys()], ['000', '001']);
  assert.deepEqual(Object.keys(tree.originals.get('000')!), ['raw', 'c23']);
  assert.deepEqual([...tree.fakes.get('Deepfakes')!.keys()], ['000_001']);
  assert.equal(tree.fakes.get('FaceShifter')!.get('001_000')!.raw, join(root, 'manipulated_sequences/FaceShifter/raw/videos/001_000.mp4'));
  await assert.rejects(scanFfpp(join(root, 'nothing')), InputFileError);
  assert.equal(targetOf('953_974'), '953');
});

test('crop boxes are 1.3× squares kept inside the frame', () => {
  assert.deepEqual(enlargeBox([100, 50, 80, 100], 1.3, 400, 300), { x: 75, y: 35, size: 130 });
  assert.deepEqual(enlargeBox([0, 0, 80, 100], 1.3, 400, 300), { x: 0, y: 0, size: 130 }); // shifted in, not shrunk
  assert.deepEqual(enlargeBox([350, 250, 80, 100], 1.3, 400, 300), { x: 270, y: 170, size: 130 });
  assert.deepEqual(enlargeBox([0, 0, 300, 300], 1.3, 400, 300), { x: 0, y: 0, size: 300 }); // frame-bound
});
