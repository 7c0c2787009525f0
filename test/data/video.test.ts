import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mp4VideoInfo } from '../../src/data/mp4.js';
import { encodeVideo, encodeVideos, ffprobeVideo, probeVideo, run, readFrames, sampleFrameIndices, VideoError } from '../../src/data/video.js';

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

/** Runs the ffmpeg command line (the reference the in-process codecs must equal) and returns its stdout. */
async function ffmpegCli(args: string[], input?: Buffer): Promise<Buffer> {
  const r = await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args], input);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** A moving gradient with texture: x264 makes P- and B-frames of it, and its chroma is not flat. */
const movingClip = (w: number, h: number, n: number) =>
  Array.from({ length: n }, (_, k) =>
    Buffer.from(
      new Uint8Array(w * h * 3).map((_, i) => {
        const [p, c] = [Math.floor(i / 3), i % 3];
        const [x, y] = [p % w, Math.floor(p / w)];
        return (x * (3 + c) + y * (5 - c) + k * 4 + ((x * y) % 13)) % 256;
      }),
    ),
  );

test('encodeVideos writes each rendition byte for byte as a fresh ffmpeg process encoding it alone does', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h, n] = [96, 64, 20];
  const frames = movingClip(w, h, n);
  const codecs = [{ kind: 'lossless' }, { kind: 'h264', crf: 23 }, { kind: 'h264', crf: 40 }] as const;
  const cliArgs = (codec: (typeof codecs)[number]) =>
    codec.kind === 'lossless'
      ? ['-c:v', 'libx264rgb', '-crf', '0', '-preset', 'veryfast']
      : ['-c:v', 'libx264', '-crf', String(codec.crf), '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];
  await encodeVideos(
    codecs.map((codec, k) => ({ path: join(dir, `together-${k}.mp4`), codec })),
    frames,
    w,
    h,
  );
  const input = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', '25', '-i', 'pipe:0'];
  for (const [k, codec] of codecs.entries()) {
    // One output per process: x264 reads memory it has not written, so several encoders sharing
    // one ffmpeg process can change each other's bytes (10 of the demo's 120 c23/c40 videos).
    await ffmpegCli([...input, ...cliArgs(codec), '-threads', '1', '-an', join(dir, `cli-${k}.mp4`)], Buffer.concat(frames));
    await encodeVideo(join(dir, `alone-${k}.mp4`), frames, w, h, codec);
    const cli = await readFile(join(dir, `cli-${k}.mp4`));
    assert.ok((await readFile(join(dir, `together-${k}.mp4`))).equals(cli), `rendition ${k} differs from ffmpeg's`);
    assert.ok((await readFile(join(dir, `alone-${k}.mp4`))).equals(cli), `rendition ${k} alone differs from ffmpeg's`);
  }
});

test('a failed encode is a VideoError and leaves no file behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h] = [32, 24];
  const path = join(dir, 'clip.mp4');
  const short = [Buffer.alloc(w * h * 3), Buffer.alloc(w * h * 3 - 1)];
  await assert.rejects(encodeVideo(path, short, w, h, { kind: 'lossless' }), (e: unknown) => e instanceof VideoError && /frame 1/.test(e.message));
  await assert.rejects(encodeVideo(path, [], w, h, { kind: 'lossless' }), VideoError);
  await assert.rejects(encodeVideo(join(dir, 'no-such-folder', 'clip.mp4'), [Buffer.alloc(w * h * 3)], w, h, { kind: 'lossless' }), VideoError);
  assert.deepEqual(await readdir(dir), []);
});

test('readFrames gives the frames the ffmpeg command line decodes: 4:2:0 to RGB, B-frames, Matroska, a truncated file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-video-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [w, h, n] = [96, 64, 30];
  const c23 = join(dir, 'c23.mp4');
  await encodeVideo(c23, movingClip(w, h, n), w, h, { kind: 'h264', crf: 23 });
  const bframes = join(dir, 'bframes.mp4');
  await ffmpegCli(['-i', c23, '-c:v', 'libx264', '-bf', '3', '-preset', 'medium', '-movflags', '+faststart', bframes]);
  await ffmpegCli(['-i', bframes, '-c', 'copy', join(dir, 'bframes.mkv')]);
  const whole = await readFile(bframes);
  await writeFile(join(dir, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length * 0.5))); // index first: the tail's frames are lost
  const indices = [0, 1, 2, 9, 17, 28, 29, 35];
  for (const name of ['c23.mp4', 'bframes.mp4', 'bframes.mkv', 'truncated.mp4']) {
    const path = join(dir, name);
    const raw = await run('ffmpeg', ['-v', 'error', '-nostdin', '-threads', '1', '-i', path, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
    const size = w * h * 3;
    const reference = (i: number) => (raw.stdout.length >= (i + 1) * size ? raw.stdout.subarray(i * size, (i + 1) * size) : undefined);
    const got = await readFrames(path, indices);
    for (const [k, i] of indices.entries()) {
      const want = reference(i);
      if (want === undefined) assert.equal(got[k], undefined, `${name}: frame ${i} is past what ffmpeg decodes`);
      else assert.ok(got[k]?.rgb.equals(want), `${name}: frame ${i} differs from ffmpeg's`);
    }
    if (name === 'truncated.mp4') assert.ok(got.includes(undefined) && got[0] !== undefined, 'the truncated file keeps its first frames only');
  }
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
