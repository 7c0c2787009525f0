/**
 * Detection over files in Node: images, folders (recursive) and videos (≤ N frames through
 * ffmpeg), with faces from the data pipeline's detector. Each input is handled on its own: a
 * bad one becomes a failed result with the error's code and hint, and the batch goes on.
 * Reports through `onEvent`; prints nothing.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname, join, relative, basename, resolve } from 'node:path';
import sharp from 'sharp';
import { InputFileError, MsccnetError, problemLine } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadFaceDetector, type FaceDetector } from '../data/faces.js';
import { probeVideo, readFrames, sampleFrameIndices } from '../data/video.js';
import { encodePng } from '../image/codec.js';
import { DEFAULT_MAX_PIXELS } from '../image/limits.js';
import { jpegSourceFor, jpegSourceOfPixels } from '../image/catnet-source.js';
import type { JpegSource } from '../image/jpeg/index.js';
import { analyze, renderOverlay, type Analysis, type InferenceEngine, type Region, type RgbImage } from './pipeline.js';
import { faceRegions } from './regions.js';
import { errorJson, imageAnalysisJson, regionsJson } from './json.js';
import type { DetectResult, ImageResult, VideoResult } from './schema.js';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff']);
export const VIDEO_EXTENSIONS = new Set(['.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v']);

/** No face was found where one was required. */
export class NoFaceError extends MsccnetError {
  constructor(readonly input: string) {
    super('MSCCNET_NO_FACE', `${input}: no face found`, 'pass --no-face to classify the whole image as one crop');
  }
}

/** One input to detect, and the name its outputs get under the output folder. */
export interface DetectInput {
  readonly path: string;
  /** relative output stem, e.g. `sub/photo` for `<folder>/sub/photo.jpg` */
  readonly stem: string;
}

/**
 * Expands the arguments: files as given, folders recursively (image and video files only, sorted);
 * a file given twice is one input. Output stems are the name (for a folder: the folder's name and
 * the path inside it) without its extension; stems that several inputs share (`a/x.png b/x.jpg`,
 * `same.png same.jpg`) keep their extension, then a hash of the full path, so that no input's
 * outputs overwrite another's and a rerun names them the same. Only regular files are read.
 */
export async function collectInputs(paths: readonly string[]): Promise<DetectInput[]> {
  const out: DetectInput[] = [];
  const seen = new Set<string>();
  const add = (path: string, stem: string): void => {
    if (seen.has(resolve(path))) return;
    seen.add(resolve(path));
    out.push({ path, stem });
  };
  for (const p of paths) {
    const s = await stat(p).catch((err: unknown) => {
      throw new InputFileError(p, 'does not exist', 'check the path', { cause: err });
    });
    if (s.isFile()) {
      add(p, basename(p, extname(p)));
      continue;
    }
    if (!s.isDirectory())
      throw new InputFileError(p, 'is not a regular file or a folder (a device, pipe or socket)', 'pass image or video files, or folders of them');
    const files = (await readdir(p, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile() && (IMAGE_EXTENSIONS.has(extname(d.name).toLowerCase()) || VIDEO_EXTENSIONS.has(extname(d.name).toLowerCase())))
      .map((d) => join(d.parentPath, d.name))
      .sort();
    for (const f of files) {
      const rel = relative(p, f);
      add(f, join(basename(resolve(p)), rel.slice(0, rel.length - extname(rel).length)));
    }
  }
  return disambiguate(out);
}

/** Stems compared as a case-insensitive file system would (x.JSON and x.json are one file there). */
const stemKey = (stem: string): string => stem.toLowerCase();

function disambiguate(inputs: DetectInput[]): DetectInput[] {
  const counts = (list: DetectInput[]) => list.reduce((m, i) => m.set(stemKey(i.stem), (m.get(stemKey(i.stem)) ?? 0) + 1), new Map<string, number>());
  const byExtension = (() => {
    const c = counts(inputs);
    return inputs.map((i) => (c.get(stemKey(i.stem))! > 1 ? { ...i, stem: `${i.stem}${extname(i.path)}` } : i));
  })();
  const c = counts(byExtension);
  return byExtension.map((i) =>
    c.get(stemKey(i.stem))! > 1 ? { ...i, stem: `${i.stem}-${createHash('sha256').update(resolve(i.path)).digest('hex').slice(0, 8)}` } : i,
  );
}

export type DetectEvent =
  | { kind: 'start'; total: number }
  | { kind: 'warning'; input: string; message: string }
  | { kind: 'result'; done: number; total: number; result: DetectResult };

export interface DetectOptions {
  /** folder for the JSON, mask and overlay files */
  outDir: string;
  /** classify the whole image instead of the detected faces */
  noFace?: boolean;
  /** P(fake) threshold for labels and masks (0.5 = official argmax) */
  threshold?: number;
  /** frames sampled per video, evenly spaced (the data pipeline's rule) */
  maxFrames?: number;
  /** images whose longer side exceeds this are downscaled first (with a warning) */
  maxSide?: number;
  /** images with more pixels (width × height, read from the header) are refused before decoding (default 40e6) */
  maxPixels?: number;
  /** face box enlargement, as the training crops (FF++: 1.3) */
  boxScale?: number;
  /** face detector; loaded on first need when absent */
  faceDetector?: FaceDetector;
  onEvent?: (e: DetectEvent) => void;
  signal?: AbortSignal;
}

interface Ctx {
  engine: InferenceEngine;
  opts: DetectOptions;
  detector: () => Promise<FaceDetector>;
  warnings: string[];
}

/** An image larger than the pixel limit, refused from its header before it is decoded. */
export class TooManyPixelsError extends InputFileError {
  constructor(input: string, width: number, height: number, maxPixels: number) {
    super(
      input,
      `${width}×${height} is ${((width * height) / 1e6).toFixed(1)} megapixels, more than the limit of ${maxPixels / 1e6}`,
      'downscale it first, or raise the limit with --max-megapixels',
    );
  }
}

/**
 * Decodes to RGB, downscaling beyond maxSide on decode (JPEG shrink-on-load keeps memory low).
 * Images over `maxPixels` are refused from their header (sharp's limitInputPixels backs it up).
 */
export async function decodeRgb(
  bytes: Uint8Array,
  input: string,
  maxSide: number,
  warn: (m: string) => void,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<RgbImage> {
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => null);
  if (meta !== null && (meta.width ?? 0) * (meta.height ?? 0) > maxPixels) throw new TooManyPixelsError(input, meta.width ?? 0, meta.height ?? 0, maxPixels);
  try {
    if (meta === null) throw new Error('unsupported image format or corrupt header');
    let pipeline = sharp(bytes, { failOn: 'warning', limitInputPixels: Math.ceil(maxPixels) }).rotate();
    if (Math.max(meta.width ?? 0, meta.height ?? 0) > maxSide) {
      warn(`${meta.width}×${meta.height} is larger than ${maxSide} px; downscaled to fit ${maxSide}×${maxSide} (use --max-side to change)`);
      pipeline = pipeline.resize({ width: maxSide, height: maxSide, fit: 'inside', kernel: 'linear' });
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw new InputFileError(
      input,
      `cannot decode as an image (${problemLine(err)})`,
      'pass a PNG, JPEG, WebP, TIFF or a video (.mp4, .avi, .mov, .mkv, .webm)',
      { cause: err },
    );
  }
}

/**
 * The JPEG an engine with `jpegInput` reads for a decoded file (image/catnet-source.ts
 * `jpegSourceFor`: a JPEG's own coefficients, else the recorded re-encode); undefined for the others.
 */
export async function fileSource(
  engine: InferenceEngine,
  bytes: Uint8Array,
  image: RgbImage,
  warn: (m: string) => void,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<JpegSource | undefined> {
  if (engine.jpegInput === undefined) return undefined;
  const { source, notKept } = await jpegSourceFor(bytes, image, { jpegQuality: engine.jpegInput.jpegQuality, maxPixels });
  if (notKept !== null) warn(notKept);
  return source;
}

async function regionsOf(ctx: Ctx, image: RgbImage, input: string): Promise<Region[]> {
  if (ctx.opts.noFace) return [{ box: { x: 0, y: 0, width: image.width, height: image.height }, detectorScore: null }];
  const faces = await (await ctx.detector()).detect(image.data, image.width, image.height);
  if (faces.length === 0) throw new NoFaceError(input);
  return faceRegions(faces, image.width, image.height, ctx.opts.boxScale);
}

async function writePictures(image: RgbImage, a: Analysis, base: string): Promise<{ mask: string; overlay: string }> {
  const [mask, overlay] = [`${base}.mask.png`, `${base}.overlay.png`];
  await writeFileAtomic(mask, await encodePng({ width: a.width, height: a.height, channels: 1, data: a.mask }));
  const o = renderOverlay(image, a);
  await writeFileAtomic(overlay, await encodePng({ width: o.width, height: o.height, channels: 3, data: o.data }));
  return { mask, overlay };
}

async function detectImage(ctx: Ctx, input: DetectInput, t0: number): Promise<ImageResult> {
  const bytes = await readFile(input.path);
  if (bytes.length === 0) throw new InputFileError(input.path, 'is empty (0 bytes)', 'the file was not written completely; copy it again');
  const warn = (m: string) => {
    ctx.warnings.push(m);
    ctx.opts.onEvent?.({ kind: 'warning', input: input.path, message: m });
  };
  const image = await decodeRgb(bytes, input.path, ctx.opts.maxSide ?? 4096, warn, ctx.opts.maxPixels);
  const source = await fileSource(ctx.engine, bytes, image, warn, ctx.opts.maxPixels);
  const a = await analyze(ctx.engine, image, await regionsOf(ctx, image, input.path), { threshold: ctx.opts.threshold, source });
  const base = join(ctx.opts.outDir, input.stem);
  const pictures = await writePictures(image, a, base);
  const result: ImageResult = {
    kind: 'image',
    ok: true,
    input: input.path,
    outputs: { json: `${base}.json`, ...pictures },
    ...imageAnalysisJson(a, ctx.engine.name, ctx.warnings, (performance.now() - t0) / 1000),
  };
  await writeFileAtomic(result.outputs.json, `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

async function detectVideo(ctx: Ctx, input: DetectInput, t0: number): Promise<VideoResult> {
  const info = await probeVideo(input.path);
  const maxPixels = ctx.opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (info.width * info.height > maxPixels) throw new TooManyPixelsError(input.path, info.width, info.height, maxPixels);
  const indices = sampleFrameIndices(info.frames, ctx.opts.maxFrames ?? 16);
  const frames = await readFrames(input.path, indices);
  const analysed: { index: number; image: RgbImage; a: Analysis }[] = [];
  for (const [k, f] of frames.entries()) {
    ctx.opts.signal?.throwIfAborted();
    if (f === undefined) continue;
    const image = { width: f.width, height: f.height, data: new Uint8Array(f.rgb.buffer, f.rgb.byteOffset, f.rgb.length) };
    let regions: Region[];
    try {
      regions = await regionsOf(ctx, image, input.path);
    } catch (err) {
      if (!(err instanceof NoFaceError)) throw err;
      ctx.warnings.push(`frame ${indices[k]}: no face found; skipped`);
      continue;
    }
    const source = ctx.engine.jpegInput && (await jpegSourceOfPixels(image, { ...ctx.engine.jpegInput, maxPixels }));
    analysed.push({ index: indices[k], image, a: await analyze(ctx.engine, image, regions, { threshold: ctx.opts.threshold, source }) });
  }
  if (analysed.length === 0) throw new NoFaceError(`${input.path} (all ${indices.length} sampled frames)`);
  const threshold = analysed[0].a.threshold;
  const score = analysed.reduce((s, f) => s + f.a.score, 0) / analysed.length; // video level: mean frame score
  const shown = analysed.reduce((m, f) => (f.a.score > m.a.score ? f : m));
  const base = join(ctx.opts.outDir, input.stem);
  const pictures = await writePictures(shown.image, shown.a, base);
  const result: VideoResult = {
    kind: 'video',
    ok: true,
    input: input.path,
    engine: ctx.engine.name,
    threshold,
    width: info.width,
    height: info.height,
    score,
    label: score > threshold ? 'fake' : 'real',
    warnings: ctx.warnings,
    outputs: { json: `${base}.json`, ...pictures },
    seconds: (performance.now() - t0) / 1000,
    frames: analysed.map((f) => ({ index: f.index, score: f.a.score, label: f.a.label, faces: regionsJson(f.a), maskArea: f.a.maskArea })),
    maxFrameScore: shown.a.score,
    shownFrame: shown.index,
  };
  await writeFileAtomic(result.outputs.json, `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

/** Runs detection on every input in order; never throws for a bad input (it becomes `ok: false`). */
export async function detectFiles(engine: InferenceEngine, inputs: readonly DetectInput[], opts: DetectOptions): Promise<DetectResult[]> {
  let detector: Promise<FaceDetector> | undefined = opts.faceDetector ? Promise.resolve(opts.faceDetector) : undefined;
  const results: DetectResult[] = [];
  opts.onEvent?.({ kind: 'start', total: inputs.length });
  for (const input of inputs) {
    opts.signal?.throwIfAborted();
    const ctx: Ctx = { engine, opts, detector: () => (detector ??= loadFaceDetector()), warnings: [] };
    const t0 = performance.now();
    let result: DetectResult;
    try {
      result = VIDEO_EXTENSIONS.has(extname(input.path).toLowerCase()) ? await detectVideo(ctx, input, t0) : await detectImage(ctx, input, t0);
    } catch (err) {
      if (!(err instanceof MsccnetError)) throw err;
      result = { ok: false, input: input.path, error: errorJson(err) };
    }
    results.push(result);
    opts.onEvent?.({ kind: 'result', done: results.length, total: inputs.length, result });
  }
  return results;
}
