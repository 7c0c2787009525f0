import { access } from 'node:fs/promises';
import type { FloatMap, Image, ImageSource, Contours, OpenCv } from '../image/index.js';
import {
  blurThresholdMask,
  convexHull,
  dilateMask,
  ellipseElement,
  erodeMask,
  fillConvexPoly,
  findContours,
  gaussianBlurRows,
  grayToUnitFloat,
  loadOpenCv,
  makeImage,
  readColor,
  rgbToGray,
  ssimMap,
} from '../image/index.js';
import { InputFileError, problemLine } from '../errors.js';
import type { AnnotationOptions, AnnotationOptionsInput } from './options.js';
import { annotationOptions } from './options.js';

/** Why a pair produced no mask. */
export type SkipReason =
  | 'missing-real' // the real partner frame does not exist
  | 'missing-fake'
  | 'unreadable' // not a decodable PNG/JPEG (truncated, empty, other format)
  | 'size-mismatch' // real and fake differ in size
  | 'too-large' // more pixels than the batch's maxPixels: refused from the header, never decoded
  | 'no-change' // identical grey images: 1 − SSIM is constant, the reference divides 0/0 and drops the frame
  | 'no-contour' // no contour with enough points (e.g. the change covers the whole frame): the reference raises
  | 'failed'; // an unexpected error (reported, never fatal to a batch)

export type AnnotationResult =
  | { readonly status: 'annotated'; readonly mask: Image; readonly diff: Image }
  | { readonly status: 'skipped'; readonly reason: SkipReason; readonly message: string };

/**
 * Every intermediate of the official `get_blur` (official-spec §11), for parity tests and inspection.
 * Stages after the step that ended the pair are null.
 */
export interface AnnotationStages {
  /** S, the full SSIM map of (fake, real), step 1. */
  readonly ssim: FloatMap;
  /** The min–max normalised 1 − S after the 5×5 blur, steps 2–3 (null when 1 − S is constant). */
  readonly diffBlurred: FloatMap | null;
  /** [blurred diff > threshold] as 0/1, step 4. */
  readonly factor: Image | null;
  /** uint8(255 · fake · factor): the official diff image, step 5. */
  readonly diff: Image | null;
  /** M = 255·[factor ∧ fake grey ≥ 1], step 5. */
  readonly changed: Image | null;
  /** M after the elliptical dilations, step 6. */
  readonly dilated: Image | null;
  /** All contours of the dilated mask and the indices of those kept (more than minContourPoints points), step 7. */
  readonly contours: Contours | null;
  readonly keptContours: readonly number[];
  /** Vertices (x, y interleaved) of the final convex hull, step 7. */
  readonly hull: Int32Array | null;
  readonly hullFilled: Image | null;
  /** The filled hull after the elliptical erosions, step 8. */
  readonly eroded: Image | null;
  /** The final blur of eroded/255 before the threshold, step 9. */
  readonly maskBlurred: FloatMap | null;
  readonly result: AnnotationResult;
}

/**
 * The paper's annotation (§4.1, Fig. 3) on two grey images as `cv2.cvtColor(…, BGR2GRAY)` gives them,
 * with every stage kept. Pure computation; opencv.js is loaded on first use.
 */
export async function annotationStages(realGray: Image, fakeGray: Image, options: AnnotationOptionsInput = {}): Promise<AnnotationStages> {
  const o = annotationOptions(options);
  const { cv } = await loadOpenCv();
  return annotateGray(cv, realGray, fakeGray, o, (result, stages) => ({ ...stages(), result }));
}

/**
 * The result of `annotationStages` without keeping the stages: the production path (what `annotatePair` and the
 * batch run), faster because the full-size planes are reused from call to call and no stage copies are made.
 */
export async function annotateGrayPair(realGray: Image, fakeGray: Image, options: AnnotationOptionsInput = {}): Promise<AnnotationResult> {
  const o = annotationOptions(options);
  const { cv } = await loadOpenCv();
  return annotateGray(cv, realGray, fakeGray, o, (result) => result, false);
}

type Stages = Omit<AnnotationStages, 'result'>;

/**
 * Full-size float64 planes reused from pair to pair in this thread (grow-only; a smaller pair uses a prefix):
 * allocating and zeroing ~2 MB arrays per plane per pair, and the GC work they cause, cost more than the
 * arithmetic. Only the synchronous `annotateGray` touches them, and only what it does not hand out lives here.
 */
const arena = { length: 0, x: new Float64Array(0), y: new Float64Array(0), ssim: new Float64Array(0) };
function arenaFor(n: number): typeof arena {
  if (arena.length < n) {
    Object.assign(arena, { length: n, x: new Float64Array(n), y: new Float64Array(n), ssim: new Float64Array(n) });
  }
  return arena;
}

/**
 * The annotation steps (official-spec §11), each a stage below; `finish(result, stages)` builds the return value.
 * `stages` is a thunk: the full-size copies of the stages are made only when it is called. Without `keepStages`
 * the SSIM map lives in the reused arena too (with it, it is handed out, so it must be fresh) and the blurred
 * maps are never stored.
 */
function annotateGray<T>(
  cv: OpenCv,
  realGray: Image,
  fakeGray: Image,
  o: AnnotationOptions,
  finish: (result: AnnotationResult, stages: () => Stages) => T,
  keepStages = true,
): T {
  const { width, height } = fakeGray;
  const ssim = structuralSimilarity(realGray, fakeGray, o, keepStages);
  const diffRange = differenceRange(ssim);
  if (diffRange === null) {
    return finish(skipped('no-change', 'real and fake are identical in grey (1 − SSIM is constant); the reference divides 0/0 and writes no mask'), () => ({
      ssim,
      ...NO_STAGES,
    }));
  }
  const { diffBlurred, diff, changed, box } = thresholdDifference(ssim, diffRange, fakeGray, o, keepStages);
  const region = workRegion(box, o, width, height);
  const toFull = (part: Image): Image => embedImage(part, region, width, height);
  // 6. Dilate with the ellipse, n successive times.
  const dilatedPart = dilateMask(cropImage(changed, region), ellipseElement(o.dilateSize), o.dilateIterations);
  const { contours, keptContours } = keepContours(cv, dilatedPart, region, o.minContourPoints);
  const stages = (): Stages => ({
    ...NO_STAGES,
    ssim,
    diffBlurred,
    factor: factorOf(diffBlurred, o.diffThreshold),
    diff,
    changed,
    dilated: toFull(dilatedPart),
    contours,
    keptContours,
  });
  if (keptContours.length === 0) return finish(noContour(contours, o.minContourPoints), stages);
  const hull = convexWrapping(cv, contours, keptContours);
  // 7c. Fill the hull (drawn in the region's coordinates).
  const hullPart = fillConvexPoly(cv, dilatedPart.width, dilatedPart.height, translate(hull, -(region?.x0 ?? 0), -(region?.y0 ?? 0)));

  // 8.–9. Erode the filled hull, blur eroded/255 with the fixed 7×7 kernel, keep every pixel ≥ 1/255.
  const erodedPart = erodeMask(hullPart, ellipseElement(o.erodeSize), o.erodeIterations);
  if (!keepStages) return finish({ status: 'annotated', mask: toFull(blurThresholdMask(erodedPart, o.maskBlurSize, false).mask), diff }, stages);
  const blurredPart = blurThresholdMask(erodedPart, o.maskBlurSize);
  return finish({ status: 'annotated', mask: toFull(blurredPart.mask), diff }, () => ({
    ...stages(),
    hull,
    hullFilled: toFull(hullPart),
    eroded: toFull(erodedPart),
    maskBlurred: embedMap(blurredPart.blurred, region, width, height),
  }));
}

/** Every stage after step 1 as null: what a pair that ends early lacks, and the base the later stages fill in. */
const NO_STAGES = {
  diffBlurred: null,
  factor: null,
  diff: null,
  changed: null,
  dilated: null,
  contours: null,
  keptContours: [],
  hull: null,
  hullFilled: null,
  eroded: null,
  maskBlurred: null,
} as const satisfies Omit<Stages, 'ssim'>;

/** 1. S, the SSIM map of (fake, real) on grey/255, skimage 0.19 semantics; in the arena unless `fresh`. */
function structuralSimilarity(realGray: Image, fakeGray: Image, o: AnnotationOptions, fresh: boolean): FloatMap {
  const { width, height } = fakeGray;
  const planes = arenaFor(width * height);
  return ssimMap(
    { width, height, data: grayToUnitFloat(fakeGray, planes.x) },
    { width, height, data: grayToUnitFloat(realGray, planes.y) },
    { dataRange: o.dataRange },
    fresh ? undefined : planes.ssim,
  );
}

/**
 * 2. The min and range of diff = 1 − S, by which it is min–max normalised; null when diff is constant
 * (identical pair): the reference divides 0/0 and writes no mask.
 */
function differenceRange(ssim: FloatMap): { min: number; range: number } | null {
  const s = ssim.data,
    n = ssim.width * ssim.height;
  let min = Infinity,
    max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = 1 - s[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  return range > 0 ? { min, range } : null;
}

/**
 * 3.–5. Blur the normalised diff, threshold it, and drop pure-black fake pixels (uint8(255·(g/255)·1) = g, so
 * M = factor ∧ g ≥ 1): the official diff image, M as `changed`, and the box of M (null when M is empty).
 * Streamed a row at a time: the normalised diff is made on the way into the blur and thresholded on the way
 * out, so neither exists as a full-size map (the blurred one only when `keepBlurred`).
 */
function thresholdDifference(
  ssim: FloatMap,
  { min, range }: { min: number; range: number },
  fakeGray: Image,
  o: AnnotationOptions,
  keepBlurred: boolean,
): { diffBlurred: FloatMap | null; diff: Image; changed: Image; box: Region | null } {
  const { width, height } = fakeGray;
  const s = ssim.data;
  const blurred = keepBlurred ? new Float64Array(width * height) : null;
  const diff = makeImage(width, height, 1);
  const changed = makeImage(width, height, 1);
  const fakeData = fakeGray.data,
    diffData = diff.data,
    changedData = changed.data,
    threshold = o.diffThreshold;
  let bx0 = width,
    by0 = height,
    bx1 = 0,
    by1 = 0;
  gaussianBlurRows(
    width,
    height,
    o.diffBlurSize,
    (y, into) => {
      const base = y * width;
      for (let x = 0; x < width; x++) into[x] = (1 - s[base + x] - min) / range;
    },
    (y, row) => {
      const base = y * width;
      blurred?.set(row, base);
      let first = -1,
        last = -1;
      for (let x = 0; x < width; x++) {
        if (row[x] > threshold) {
          const g = fakeData[base + x];
          diffData[base + x] = g;
          if (g > 0) {
            changedData[base + x] = 255;
            if (first < 0) first = x;
            last = x;
          }
        }
      }
      if (first >= 0) {
        if (y < by0) by0 = y;
        by1 = y + 1;
        if (first < bx0) bx0 = first;
        if (last + 1 > bx1) bx1 = last + 1;
      }
    },
  );
  return {
    diffBlurred: blurred === null ? null : { width, height, data: blurred },
    diff,
    changed,
    box: by1 === 0 ? null : { x0: bx0, y0: by0, x1: bx1, y1: by1 },
  };
}

/** 4. factor = [blurred diff > threshold] as 0/1; only a stage, so built only on request (null when not kept). */
function factorOf(diffBlurred: FloatMap | null, threshold: number): Image | null {
  if (diffBlurred === null) return null;
  const { width, height, data } = diffBlurred;
  const f = makeImage(width, height, 1),
    n = width * height;
  for (let i = 0; i < n; i++) if (data[i] > threshold) f.data[i] = 1;
  return f;
}

/**
 * Where steps 6–9 work: the box of M plus a margin (null: the whole frame). Dilation reaches dilateReach beyond
 * M, the hull stays inside the dilated box, and erosion/blur reach at most `after` more, so every pixel outside
 * the region is 0 in every later stage, and the region's inner edges see zeros exactly where the full image has
 * them (test/annotate/region.test.ts compares region and full-frame masks).
 */
function workRegion(box: Region | null, o: AnnotationOptions, width: number, height: number): Region | null {
  if (box === null) return null;
  const dilateReach = (o.dilateSize >> 1) * o.dilateIterations;
  const after = Math.max(o.erodeSize >> 1, o.maskBlurSize >> 1) + 1;
  return {
    x0: Math.max(0, box.x0 - dilateReach - after),
    y0: Math.max(0, box.y0 - dilateReach - after),
    x1: Math.min(width, box.x1 + dilateReach + after),
    y1: Math.min(height, box.y1 + dilateReach + after),
  };
}

/**
 * 7a. Contours of the dilated mask (RETR_TREE, SIMPLE) in frame coordinates, and the indices of those kept
 * (more than minContourPoints points).
 */
function keepContours(cv: OpenCv, dilatedPart: Image, region: Region | null, minContourPoints: number): { contours: Contours; keptContours: number[] } {
  const partContours = findContours(cv, dilatedPart);
  const contours = { points: partContours.points.map((p) => translate(p, region?.x0 ?? 0, region?.y0 ?? 0)), hierarchy: partContours.hierarchy };
  const keptContours = contours.points.flatMap((p, i) => (p.length / 2 > minContourPoints ? [i] : []));
  return { contours, keptContours };
}

/**
 * 7b. The paper's "convex wrapping twice": the reference appends the first kept contour raw and the hulls of
 * the others, then takes the hull of all; same construction here.
 */
function convexWrapping(cv: OpenCv, contours: Contours, keptContours: readonly number[]): Int32Array {
  const parts = keptContours.map((i, k) => (k === 0 ? contours.points[i] : convexHull(cv, contours.points[i])));
  const all = new Int32Array(parts.reduce((sum, p) => sum + p.length, 0));
  parts.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
  return convexHull(cv, all);
}

function noContour(contours: Contours, minContourPoints: number): AnnotationResult {
  const counts = contours.points.map((p) => p.length / 2);
  return skipped(
    'no-contour',
    `no contour of the changed region has more than ${minContourPoints} points (points per contour: [${counts.join(', ')}]): ` +
      'the change covers the whole frame or only straight bands; the reference raises in convexHull and writes no mask',
  );
}

interface Region {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** The region of a full-frame image (the image itself for the whole frame). */
function cropImage(image: Image, r: Region | null): Image {
  if (r === null) return image;
  const w = r.x1 - r.x0,
    out = makeImage(w, r.y1 - r.y0, 1);
  for (let y = r.y0; y < r.y1; y++) out.data.set(image.data.subarray(y * image.width + r.x0, y * image.width + r.x1), (y - r.y0) * w);
  return out;
}

/** A region's image back in the full frame, zero outside it. */
function embedImage(part: Image, r: Region | null, width: number, height: number): Image {
  if (r === null) return part;
  const out = makeImage(width, height, 1);
  for (let y = 0; y < part.height; y++) out.data.set(part.data.subarray(y * part.width, (y + 1) * part.width), (y + r.y0) * width + r.x0);
  return out;
}

function embedMap(part: FloatMap, r: Region | null, width: number, height: number): FloatMap {
  if (r === null) return part;
  const data = new Float64Array(width * height);
  for (let y = 0; y < part.height; y++) data.set(part.data.subarray(y * part.width, (y + 1) * part.width), (y + r.y0) * width + r.x0);
  return { width, height, data };
}

/** Points (x, y interleaved) moved by (dx, dy). */
function translate(points: Int32Array, dx: number, dy: number): Int32Array {
  const out = new Int32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    out[i] = points[i] + dx;
    out[i + 1] = points[i + 1] + dy;
  }
  return out;
}

function skipped(reason: SkipReason, message: string): AnnotationResult {
  return { status: 'skipped', reason, message };
}

/** An image file or bytes, or an already decoded image (RGB(A) order, or 1-channel grey). */
export type PairInput = ImageSource | Image;

async function toGray(input: PairInput): Promise<Image> {
  if (typeof input === 'string' || input instanceof Uint8Array) return rgbToGray(await readColor(input));
  return rgbToGray(input);
}

/**
 * The paper's mask for one real/fake pair (official `get_mask` + `get_blur`): both are read as
 * `cv2.imread` would (8-bit; grey files as 3 equal channels, alpha dropped, 16-bit reduced to the high
 * byte), converted to OpenCV grey, and annotated. Problems become a `skipped` result with a reason, never a throw.
 */
export async function annotatePair(real: PairInput, fake: PairInput, options: AnnotationOptionsInput = {}): Promise<AnnotationResult> {
  const parsed = annotationOptions(options);
  for (const [input, reason] of [
    [real, 'missing-real'],
    [fake, 'missing-fake'],
  ] as const) {
    if (typeof input === 'string' && !(await exists(input))) return skipped(reason, `${input}: file not found`);
  }
  let realGray: Image, fakeGray: Image;
  try {
    [realGray, fakeGray] = await Promise.all([toGray(real), toGray(fake)]);
  } catch (err) {
    if (err instanceof InputFileError) return skipped('unreadable', problemLine(err));
    throw err;
  }
  if (realGray.width !== fakeGray.width || realGray.height !== fakeGray.height) {
    return skipped(
      'size-mismatch',
      `real is ${realGray.width}×${realGray.height} but fake is ${fakeGray.width}×${fakeGray.height}; ` +
        "crop the fake with the real frame's box so both have the same size",
    );
  }
  return annotateGrayPair(realGray, fakeGray, parsed);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
