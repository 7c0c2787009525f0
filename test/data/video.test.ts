import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mp4VideoInfo } from '../../src/data/mp4.js';
import {
  encodeVideo,
  encodeVideos,
  ffprobeVideo,
  probeVideo,
  run,
  readFrames,
  readFramesOfEach,
  sampleFrameIndices,
  VideoError,
} from '../../src/data/video.js';

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

test('encodeVideos writes each rendition byte for byte as encodeVideo alone does, in one ffmpeg run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h, n] = [64, 48, 6];
  const frames = Array.from({ length: n }, (_, k) => Buffer.from(new Uint8Array(w * h * 3).map((_, i) => (i * 7 + k * 31) % 251)));
  const codecs = [{ kind: 'lossless' }, { kind: 'h264', crf: 23 }, { kind: 'h264', crf: 40 }] as const;
  await encodeVideos(
    codecs.map((codec, k) => ({ path: join(dir, `together-${k}.mp4`), codec })),
    frames,
    w,
    h,
  );
  for (const [k, codec] of codecs.entries()) {
    await encodeVideo(join(dir, `alone-${k}.mp4`), frames, w, h, codec);
    assert.ok((await readFile(join(dir, `together-${k}.mp4`))).equals(await readFile(join(dir, `alone-${k}.mp4`))), `rendition ${k} differs`);
  }
});

test('readFramesOfEach decodes several videos in one run as readFrames does each; a bad one is a VideoError in its place', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h, n] = [32, 24, 12];
  const clip = (seed: number) => Array.from({ length: n }, (_, k) => Buffer.from(new Uint8Array(w * h * 3).map((_, i) => [k * 20, seed * 60, i % 7][i % 3]!)));
  const paths = [0, 1, 2].map((s) => join(dir, `clip-${s}.mp4`));
  for (const [s, p] of paths.entries()) await encodeVideo(p, clip(s), w, h, { kind: 'lossless' });
  const want = [1, 4, 11];
  const together = await readFramesOfEach(paths, [...want, 30]);
  for (const [s, got] of together.entries()) {
    assert.ok(Array.isArray(got));
    for (const [k, idx] of want.entries()) assert.ok(got[k]!.rgb.equals(clip(s)[idx]!), `clip ${s} frame ${idx} differs`);
    assert.equal(got[3], undefined, 'a frame past the end is reported missing');
  }
  const bad = join(dir, 'bad.mp4');
  await writeFile(bad, Buffer.from('not a video at all'));
  const mixed = await readFramesOfEach([paths[0]!, bad, paths[2]!], want);
  assert.ok(mixed[1] instanceof VideoError && mixed[1].message.includes(bad));
  assert.ok(Array.isArray(mixed[0]) && mixed[0][2]!.rgb.equals(clip(0)[11]!));
  assert.ok(Array.isArray(mixed[2]) && mixed[2][0]!.rgb.equals(clip(2)[1]!));
});

test('a corrupt video is a VideoError naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'bad.mp4');
  await writeFile(path, Buffer.from('not a video at all'));
  await assert.rejects(probeVideo(path), (e: unknown) => e instanceof VideoError && e.message.includes(path));
  await assert.rejects(readFrames(path, [0]), VideoError);
});

/** What ffprobe counts: the reference of probeVideo (null where ffprobe cannot read the file). */
const ffprobed = (path: string) => ffprobeVideo(path).catch(() => null);

test("the MP4 index gives ffprobe's size and frame count, or leaves the file to ffprobe (fragments, trimming edits, truncation, other containers)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-mp4-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h, n] = [64, 48, 30];
  const frames = Array.from({ length: n }, (_, k) => Buffer.from(new Uint8Array(w * h * 3).map((_, i) => (i * 5 + k * 17) % 253)));
  const codecs = { raw: { kind: 'lossless' }, c23: { kind: 'h264', crf: 23 }, c40: { kind: 'h264', crf: 40 } } as const;
  await encodeVideos(
    Object.entries(codecs).map(([name, codec]) => ({ path: join(dir, `${name}.mp4`), codec })),
    frames,
    w,
    h,
  );
  const ffmpeg = async (args: string[]) => assert.equal((await run('ffmpeg', ['-v', 'error', '-y', ...args])).code, 0);
  const c23 = join(dir, 'c23.mp4');
  await ffmpeg(['-i', c23, '-c', 'copy', '-movflags', '+faststart', join(dir, 'faststart.mp4')]);
  await ffmpeg(['-i', c23, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov', join(dir, 'fragmented.mp4')]);
  await ffmpeg(['-ss', '0.3', '-i', c23, '-c', 'copy', join(dir, 'trimmed.mp4')]); // an edit list that starts after a keyframe
  await ffmpeg(['-i', c23, '-c', 'copy', join(dir, 'other.mkv')]);
  const whole = await readFile(join(dir, 'faststart.mp4'));
  await writeFile(join(dir, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length * 0.7))); // index first, samples cut
  const indexed = ['raw', 'c23', 'c40', 'faststart'];
  for (const name of [...indexed, 'fragmented', 'trimmed', 'truncated']) {
    const path = join(dir, `${name}.mp4`);
    const mine = await mp4VideoInfo(path);
    const reference = await ffprobed(path);
    if (indexed.includes(name)) assert.deepEqual(mine, { width: w, height: h, frames: n }, `${name}: read from the index`);
    if (mine !== null) assert.deepEqual(mine, reference, `${name}: the index must agree with ffprobe`);
    assert.deepEqual(await probeVideo(path), reference, `${name}: probeVideo reads what ffprobe reads`);
  }
  assert.equal(await mp4VideoInfo(join(dir, 'fragmented.mp4')), null);
  assert.equal(await mp4VideoInfo(join(dir, 'truncated.mp4')), null);
  assert.equal(await mp4VideoInfo(join(dir, 'other.mkv')), null);
  assert.deepEqual(await probeVideo(join(dir, 'other.mkv')), await ffprobed(join(dir, 'other.mkv')));
});
