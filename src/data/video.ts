import { spawn } from 'node:child_process';
import { MsccnetError } from '../errors.js';
import { libav, type DecodedFrame, type EncoderOutput } from './libav.js';
import { mp4VideoInfo, type VideoInfo } from './mp4.js';

export type { VideoInfo } from './mp4.js';

/** ffmpeg or ffprobe failed on a video: unreadable, corrupt or not a video. Bad input: retrying won't help. */
export class VideoError extends MsccnetError {
  constructor(
    readonly path: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super('MSCCNET_VIDEO', `${path}: ${problem}`, 'check the file plays (ffprobe it); re-download it if it is truncated', options);
  }
}

/** ffmpeg itself is missing. */
export class FfmpegMissingError extends MsccnetError {
  constructor(tool: string, options?: ErrorOptions) {
    super('MSCCNET_FFMPEG_MISSING', `${tool} was not found on PATH`, 'install it (Debian: apt-get install ffmpeg, or run scripts/setup)', options);
  }
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

/** Runs a tool to completion, collecting stdout as bytes; `input` is written to its stdin. */
export function run(tool: string, args: readonly string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 20_000) err += d.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new FfmpegMissingError(tool, { cause: e }) : e));
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: err, code }));
    child.stdin.on('error', () => {
      /* the tool exited early; its exit code reports why */
    });
    child.stdin.end(input);
  });
}

/**
 * Size and frame count of the first video stream: read from the MP4 index where it gives exactly
 * what ffprobe counts (mp4.ts), else counted by ffprobe demuxing (no decode), which also words
 * the error of a file that is not a readable video.
 */
export async function probeVideo(path: string): Promise<VideoInfo> {
  return (await mp4VideoInfo(path).catch(() => null)) ?? ffprobeVideo(path);
}

/** {@link probeVideo} by ffprobe alone: the demuxed packets of v:0 and the stream's size (the reference the MP4 index must equal). */
export async function ffprobeVideo(path: string): Promise<VideoInfo> {
  const r = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=width,height,nb_read_packets',
    '-of',
    'json',
    path,
  ]);
  if (r.code !== 0) throw new VideoError(path, `ffprobe failed: ${lastLine(r.stderr)}`);
  const stream = (JSON.parse(r.stdout.toString()) as { streams?: Array<{ width?: number; height?: number; nb_read_packets?: string }> }).streams?.[0];
  const frames = Number(stream?.nb_read_packets);
  if (!stream?.width || !stream.height || !Number.isInteger(frames) || frames < 1) throw new VideoError(path, 'no video stream with frames');
  return { width: stream.width, height: stream.height, frames };
}

/** The reference's frame positions: floor(linspace(0, L − 1, n)), de-duplicated for clips shorter than n. */
export function sampleFrameIndices(frameCount: number, n = 20): number[] {
  if (frameCount <= 0) return [];
  if (n === 1) return [0];
  const idx = Array.from({ length: n }, (_, i) => Math.floor((i * (frameCount - 1)) / (n - 1)));
  return [...new Set(idx)];
}

/** One decoded frame: RGB24, row-major. */
export type Frame = DecodedFrame;

/**
 * Decodes exactly the frames `indices` (sorted, 0-based decode order) of the first video stream:
 * what `ffmpeg -threads 1 -i path -vf select='eq(n,i)+…' -vsync 0 -c:v ppm` writes, byte for byte,
 * decoded in this process by the same libraries (src/data/libav.ts). A frame the decoder never
 * produces (truncated file) comes back as `undefined`.
 */
export async function readFrames(path: string, indices: readonly number[]): Promise<Array<Frame | undefined>> {
  if (indices.length === 0) return [];
  const frames = await libav().decodeFrames(path, indices);
  if (typeof frames === 'string') throw new VideoError(path, `could not decode it: ${frames}`);
  return frames;
}

export type VideoCodec =
  | { kind: 'lossless' } // libx264rgb CRF 0: decodes to exactly the RGB that went in (FF++ "raw")
  | { kind: 'h264'; crf: number }; // libx264 yuv420p, as FF++'s compress.py (c23: CRF 23, c40: CRF 40)

/** Encodes RGB24 frames to an MP4 (deterministic: one thread, fixed preset). */
export async function encodeVideo(
  path: string,
  frames: AsyncIterable<Buffer> | Buffer[],
  width: number,
  height: number,
  codec: VideoCodec,
  fps = 25,
): Promise<void> {
  await encodeVideos([{ path, codec }], frames, width, height, fps);
}

/**
 * Encodes the same RGB24 frames to several MP4s. Each is byte for byte what
 * `ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -r fps -i - -c:v libx264[rgb] -crf C -preset veryfast
 * [-pix_fmt yuv420p] -threads 1 -an out.mp4` writes, encoded in this process by the same libraries
 * (src/data/libav.ts): an ffmpeg start cost about 3,600 page faults relocating its libraries, and
 * its encoders' buffers as many again, which dominated the demo's data stage.
 */
export async function encodeVideos(
  outputs: ReadonlyArray<{ path: string; codec: VideoCodec }>,
  frames: AsyncIterable<Buffer> | Buffer[],
  width: number,
  height: number,
  fps = 25,
): Promise<void> {
  if (outputs.length === 0) return;
  const all: Buffer[] = [];
  for await (const f of frames) all.push(f);
  const encoder = (o: { path: string; codec: VideoCodec }): EncoderOutput =>
    o.codec.kind === 'lossless'
      ? { path: o.path, encoder: 'libx264rgb', pixFmt: 'rgb24', options: { crf: '0', preset: 'veryfast', threads: '1' } }
      : { path: o.path, encoder: 'libx264', pixFmt: 'yuv420p', options: { crf: String(o.codec.crf), preset: 'veryfast', threads: '1' } };
  try {
    await libav().encodeVideos(outputs.map(encoder), all, width, height, fps);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new VideoError(outputs.map((o) => o.path).join(', '), `could not encode: ${message}`, { cause: err });
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').at(-1) ?? `exit without output`;
}
