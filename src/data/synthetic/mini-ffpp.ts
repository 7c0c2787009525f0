import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { ArgumentError } from '../../errors.js';
import type { FaceDetector } from '../faces.js';
import { fakePath, originalPath, type Compression, type Method } from '../layout.js';
import { encodeVideos, run, VideoError, type VideoCodec } from '../video.js';
import { forge, forgeryAlpha, sampleForgeryParams, type FaceImage, type ForgeryKind } from './forge.js';
import { seededRandom, type Point, type RgbImage } from './geometry.js';

export interface ClipSource {
  /** FF++-style 3-digit id of the original. */
  id: string;
  video: string;
  /** Start time in the source video, seconds. */
  start: number;
}

export interface MiniFfppOptions {
  /** Folder to create: original_sequences/, manipulated_sequences/, splits/, truth/. */
  root: string;
  sources: readonly ClipSource[];
  /** Pairs per split, as FaceForensics' split JSONs: fakes are made in both directions. */
  splits: { train: Array<[string, string]>; val: Array<[string, string]>; test: Array<[string, string]> };
  /** Which synthetic forgery stands in for which FF++ method. */
  methods: Partial<Record<Method, ForgeryKind>>;
  detector: FaceDetector;
  frames?: number; // per clip (default 24)
  fps?: number; // sampling rate from the source (default 8: 24 frames span 3 s)
  width?: number; // frame size (default 320×240)
  height?: number;
  /** Frames replaced by black in an original and hence its fakes (no face to find). */
  blank?: Record<string, number[]>;
  seed?: number;
}

export interface MiniFfpp {
  root: string;
  splitsDir: string;
  /** `truth/<Method>/<t>_<s>.png`: the blend weight (0–255) of the fake content, the same in every frame. */
  truthDir: string;
  frames: number;
  fakes: Array<{ method: Method; name: string; kind: ForgeryKind }>;
}

const CODECS: Record<Compression, VideoCodec> = { raw: { kind: 'lossless' }, c23: { kind: 'h264', crf: 23 }, c40: { kind: 'h264', crf: 40 } };

/**
 * A miniature FF++ download from real talking-face clips: originals at raw (lossless), c23 and
 * c40, fakes made frame by frame by the synthetic forgeries with known masks, and split JSONs.
 * Landmarks come from each clip's first frame and are reused for its frames (the known mask is
 * exact either way).
 */
export async function buildMiniFfpp(o: MiniFfppOptions): Promise<MiniFfpp> {
  const frames = o.frames ?? 24;
  const width = o.width ?? 320;
  const height = o.height ?? 240;
  const clips = new Map<string, { frames: Buffer[]; landmarks: Point[] }>();
  for (const s of o.sources) {
    const r = await run('ffmpeg', [
      '-v',
      'error',
      '-nostdin',
      '-ss',
      String(s.start),
      '-i',
      s.video,
      '-map',
      '0:v:0',
      '-vf',
      `fps=${o.fps ?? 8},scale=${width}:${height}`,
      '-frames:v',
      String(frames),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ]);
    const size = width * height * 3;
    if (r.code !== 0 || r.stdout.length < frames * size) throw new VideoError(s.video, `could not read ${frames} frames from ${s.start} s`);
    const rgb = Array.from({ length: frames }, (_, k) => r.stdout.subarray(k * size, (k + 1) * size));
    const face = (await o.detector.detect(rgb[0]!, width, height))[0];
    if (!face) throw new ArgumentError('sources', 'clips whose first frame shows a face', `${s.video} at ${s.start} s`);
    for (const k of o.blank?.[s.id] ?? []) rgb[k] = Buffer.alloc(size);
    clips.set(s.id, { frames: rgb, landmarks: face.landmarks });
    await encodeAll((comp) => originalPath(o.root, comp, s.id), rgb, width, height);
  }

  const fakes: MiniFfpp['fakes'] = [];
  const truthDir = join(o.root, 'truth');
  const pairs = [...o.splits.train, ...o.splits.val, ...o.splits.test];
  let seed = o.seed ?? 7;
  for (const [a, b] of pairs) {
    for (const [t, s] of [
      [a, b],
      [b, a],
    ] as const) {
      const target = clips.get(t);
      const donor = clips.get(s);
      if (!target || !donor) throw new ArgumentError('splits', 'pairs of ids listed in sources', `${t}_${s}`);
      const name = `${t}_${s}`;
      for (const [method, kind] of Object.entries(o.methods) as Array<[Method, ForgeryKind]>) {
        const params = sampleForgeryParams(kind, seededRandom(seed++));
        const face = (k: number): FaceImage => ({ image: img(target.frames[k]!, width, height), landmarks: target.landmarks });
        const alpha = forgeryAlpha(kind, face(0), params);
        const out: Buffer[] = [];
        for (let k = 0; k < frames; k++) {
          const f = forge(kind, face(k), { image: img(donor.frames[k]!, width, height), landmarks: donor.landmarks }, params, alpha);
          out.push(Buffer.from(f.fake.data.buffer, f.fake.data.byteOffset, f.fake.data.length));
        }
        const truth = join(truthDir, method, `${name}.png`);
        await mkdir(dirname(truth), { recursive: true });
        await sharp(Buffer.from(alpha.map((v) => Math.round(v * 255))), { raw: { width, height, channels: 1 } })
          .png()
          .toFile(truth);
        await encodeAll((comp) => fakePath(o.root, method, comp, name), out, width, height);
        fakes.push({ method, name, kind });
      }
    }
  }
  const splitsDir = join(o.root, 'splits');
  await mkdir(splitsDir, { recursive: true });
  for (const split of ['train', 'val', 'test'] as const) await writeFile(join(splitsDir, `${split}.json`), JSON.stringify(o.splits[split]));
  return { root: o.root, splitsDir, truthDir, frames, fakes };
}

const img = (data: Buffer, width: number, height: number): RgbImage => ({ width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) });

/** Every rendition of one video, in one ffmpeg run. */
async function encodeAll(pathOf: (comp: Compression) => string, frames: Buffer[], width: number, height: number): Promise<void> {
  const outputs = (Object.keys(CODECS) as Compression[]).map((comp) => ({ path: pathOf(comp), codec: CODECS[comp] }));
  for (const o of outputs) await mkdir(dirname(o.path), { recursive: true });
  await encodeVideos(outputs, frames, width, height);
}
