import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeVideo, probeVideo, readFrames, sampleFrameIndices, VideoError } from '../../src/data/video.js';

test('frame positions are the reference floor(linspace(0, L−1, 20))', () => {
  // official-spec §8.2: the test list's frames for L = 300
  assert.deepEqual(sampleFrameIndices(300), [0, 15, 31, 47, 62, 78, 94, 110, 125, 141, 157, 173, 188, 204, 220, 236, 251, 267, 283, 299]);
  assert.deepEqual(sampleFrameIndices(5), [0, 1, 2, 3, 4]); // shorter than 20: every frame once
  assert.deepEqual(sampleFrameIndices(24, 6), [0, 4, 9, 13, 18, 23]);
  assert.deepEqual(sampleFrameIndices(0), []);
});

test('readFrames decodes exactly the requested frames of a lossless clip', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h, n] = [48, 32, 40];
  // frame k is a flat colour (k·6, 255 − k·6, k) so each decoded frame names its own index
  const frames = Array.from({ length: n }, (_, k) => Buffer.from(new Uint8Array(w * h * 3).map((_, i) => [k * 6, 255 - k * 6, k][i % 3]!)));
  const path = join(dir, 'clip.mp4');
  await encodeVideo(path, frames, w, h, { kind: 'lossless' });
  assert.deepEqual(await probeVideo(path), { width: w, height: h, frames: n });
  const want = [0, 7, 8, 20, 39];
  const got = await readFrames(path, [...want, 45]);
  for (const [k, idx] of want.entries()) {
    assert.equal(got[k]?.width, w);
    assert.ok(got[k]!.rgb.equals(frames[idx]!), `frame ${idx} differs`);
  }
  assert.equal(got[5], undefined, 'a frame past the end is reported missing');
});

test('a corrupt video is a VideoError naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'bad.mp4');
  await writeFile(path, Buffer.from('not a video at all'));
  await assert.rejects(probeVideo(path), (e: unknown) => e instanceof VideoError && e.message.includes(path));
  await assert.rejects(readFrames(path, [0]), VideoError);
});
