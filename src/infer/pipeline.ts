/**
 * The one pre/post-processing path of detection, shared by the CLI, a server and the browser:
 * pure TypeScript on typed arrays (no Node imports), so a browser bundle can use it as is.
 *
 * crop → the model's PreprocessSpec (image/preprocess.ts: cv2 INTER_LINEAR to the model side,
 * normalise; the same function training's validation uses) → engine → P(fake) per crop; mask logits → bilinear to the crop size (on
 * logits, official-spec §10) → probability map → pasted into the full image → binary mask.
 */
import { resizeBilinear, resizeBilinearRows } from '../image/interpolate.js';
import { ArgumentError, MsccnetError } from '../errors.js';
import { officialPreprocess, preprocessInto as applyPreprocess, type Box, type PreprocessSpec } from '../image/preprocess.js';
import { catnetTileBatch, catnetTileOrigins, type JpegSource } from '../image/jpeg/index.js';

export type { Box, PreprocessSpec } from '../image/preprocess.js';

/** An 8-bit RGB image, row-major, channels interleaved. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A region to classify: a face crop (with the detector's score) or the whole image. */
export interface Region {
  readonly box: Box;
  readonly detectorScore: number | null;
}

/** The official test normalisation (official-spec §8.4), RGB order. */
export const NORMALIZE = { mean: officialPreprocess(1).mean, std: officialPreprocess(1).std } as const;

/** Raw outputs of a model for a batch: image logits [B, K] and mask logits [B, K, s, s]. */
export interface EngineOutput {
  readonly imageLogits: Float32Array;
  readonly maskLogits: Float32Array;
  readonly classes: number;
  readonly maskSide: number;
}

/** Auxiliary inputs of a batch by name (models/method.ts AuxiliaryInputs), as float32 arrays. */
export type AuxiliaryArrays = Readonly<Record<string, Float32Array>>;

/**
 * A model that reads the file, not only its pixels (CAT-Net: the JPEG's quantised DCT
 * coefficients and table). Its input is a JpegSource: a JPEG's own coefficients, or those of the
 * image JPEG-encoded at `jpegQuality` (4:4:4) when it is no JPEG; it runs at the file's own
 * resolution in input-side tiles on the 8-pixel grid (`runJpegRegion`), since coefficients cannot be resized.
 */
export interface JpegInputSpec {
  /** the model config's quality for inputs that are no JPEG */
  readonly jpegQuality: number;
}

/** What runs the network: onnxruntime (Node or web) or libtorch. */
export interface InferenceEngine {
  /** Square input side the model was built for. */
  readonly inputSide: number;
  /** how inputs are made, when the model file states it; else the official one at inputSide */
  readonly preprocess?: PreprocessSpec;
  /** set when the model reads the file's JPEG coefficients (its auxiliary inputs); absent: pixels only */
  readonly jpegInput?: JpegInputSpec;
  readonly name: string;
  /**
   * input: [batch, 3, side, side] normalised; `aux`: a method's auxiliary inputs by name, each
   * batch × its per-sample size (CAT-Net's dctVolume, qtable: `catnetTileBatch`).
   */
  run(input: Float32Array, batch: number, aux?: AuxiliaryArrays): Promise<EngineOutput>;
  release(): Promise<void>;
}

/** The preprocessing an engine's model expects. */
export function preprocessSpecOf(engine: InferenceEngine): PreprocessSpec {
  return engine.preprocess ?? officialPreprocess(engine.inputSide);
}

/** The crop `box` of `image` through `spec` (image/preprocess.ts), into `out` at `offset` as CHW float32. */
export function preprocessInto(image: RgbImage, box: Box, spec: PreprocessSpec, out: Float32Array, offset: number): void {
  checkBox(image, box);
  applyPreprocess(image, box, spec, out, offset, 'rgb');
}

function checkBox(image: RgbImage, box: Box): void {
  const ok =
    [box.x, box.y, box.width, box.height].every(Number.isInteger) &&
    box.width > 0 &&
    box.height > 0 &&
    box.x >= 0 &&
    box.y >= 0 &&
    box.x + box.width <= image.width &&
    box.y + box.height <= image.height;
  if (!ok) throw new ArgumentError('box', `an integer rectangle inside the ${image.width}×${image.height} image`, box);
}

/** softmax(logits)[1]: P(fake). */
export function fakeProbability(logits: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - m);
  return Math.exp(logits[1] - m) / sum;
}

/** Per-region result. */
export interface RegionResult {
  readonly box: Box;
  readonly detectorScore: number | null;
  /** P(fake) from the image head */
  readonly score: number;
  readonly label: 'fake' | 'real';
  /** pixels of the crop whose P(fake) exceeds the threshold */
  readonly maskArea: number;
}

/** Result of one image. */
export interface Analysis {
  readonly width: number;
  readonly height: number;
  /** the largest region score (an image is as fake as its most manipulated face) */
  readonly score: number;
  readonly label: 'fake' | 'real';
  readonly threshold: number;
  readonly regions: RegionResult[];
  /** P(fake) per pixel of the full image (0 outside the regions), row-major */
  readonly probability: Float32Array;
  /** 255 where probability > threshold, else 0 */
  readonly mask: Uint8Array;
  readonly maskArea: number;
}

export interface AnalyzeOptions {
  /** Pixel and image threshold on P(fake); 0.5 = the official argmax. */
  threshold?: number;
  /** Regions (tiles, for an engine with `jpegInput`) per engine call. */
  batchSize?: number;
  /**
   * the JPEG the image is (its own, or the image encoded at the engine's `jpegQuality`), of the
   * image's size: required by an engine with `jpegInput`, ignored otherwise
   */
  source?: JpegSource;
}

/** An engine with `jpegInput` called without the image's JPEG source. */
export class MissingJpegSourceError extends MsccnetError {
  constructor(engine: string, problem: string) {
    super(
      'MSCCNET_JPEG_SOURCE',
      `the model (${engine}) reads the file's JPEG coefficients, but ${problem}`,
      "pass the image's JPEG source (Node: jpegSourceFor(bytes, image); page: the file's bytes through readJpegCoefficients)",
    );
  }
}

/** Image logits [K] and mask logits [K, box.height, box.width] of one rectangle, at pixel resolution. */
export interface RegionLogits {
  readonly imageLogits: Float32Array;
  readonly maskLogits: Float32Array;
  readonly classes: number;
}

/**
 * Runs an engine with `jpegInput` over `box` of its JPEG source at the file's resolution: the
 * box's 8-pixel-grid tiles of the input side (`catnetTileOrigins`) in batches, each tile's mask
 * logits bilinearly to the tile (on logits, as `analyze`) and pasted; the image logits are those of
 * the tile with the highest P(fake) (an image is as fake as its most manipulated part).
 */
export async function runJpegRegion(engine: InferenceEngine, source: JpegSource, box: Box, batchSize = 4): Promise<RegionLogits> {
  const S = engine.inputSide;
  const origins = catnetTileOrigins(box, S);
  const [bw, bh] = [box.width, box.height];
  let mask: Float32Array | null = null;
  let best: { p: number; logits: Float32Array } = { p: -1, logits: new Float32Array(0) };
  let K = 0;
  for (let start = 0; start < origins.length; start += Math.max(1, batchSize)) {
    const chunk = origins.slice(start, start + Math.max(1, batchSize));
    const { image, aux } = catnetTileBatch(source, chunk, S);
    const out = await engine.run(image, chunk.length, aux);
    if (!allFinite(out.imageLogits) || !allFinite(out.maskLogits)) throw new NonFiniteOutputError(engine.name);
    K = out.classes;
    const s = out.maskSide;
    const m = (mask ??= new Float32Array(K * bw * bh));
    chunk.forEach(([row, col], i) => {
      const logits = out.imageLogits.subarray(i * K, (i + 1) * K);
      const p = fakeProbability(logits);
      if (p > best.p) best = { p, logits: Float32Array.from(logits) };
      const up = resizeBilinear(out.maskLogits.subarray(i * K * s * s, (i + 1) * K * s * s), [K, s, s], [S, S]);
      const [y0, y1] = [Math.max(row, box.y), Math.min(row + S, box.y + bh)];
      const [x0, x1] = [Math.max(col, box.x), Math.min(col + S, box.x + bw)];
      for (let k = 0; k < K; k++) {
        for (let y = y0; y < y1; y++) {
          const src = k * S * S + (y - row) * S - col;
          const dst = k * bw * bh + (y - box.y) * bw - box.x;
          for (let x = x0; x < x1; x++) m[dst + x] = up[src + x];
        }
      }
    });
  }
  return { imageLogits: best.logits, maskLogits: mask!, classes: K };
}

/** The model's output holds NaN or ±Infinity: fail closed, since every comparison with NaN says "real". */
export class NonFiniteOutputError extends MsccnetError {
  constructor(readonly engine: string) {
    super(
      'MSCCNET_NON_FINITE',
      `the model (${engine}) gave non-finite (NaN or infinite) outputs`,
      'the weights are probably corrupt or diverged: check them with `msccnet model`, or export again from a good checkpoint',
    );
  }
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Runs the engine on every region of one image and assembles the maps. Throws NonFiniteOutputError on NaN outputs. */
export async function analyze(engine: InferenceEngine, image: RgbImage, regions: readonly Region[], opts: AnalyzeOptions = {}): Promise<Analysis> {
  const threshold = opts.threshold ?? 0.5;
  const batchSize = Math.max(1, opts.batchSize ?? 4);
  const probability = new Float32Array(image.width * image.height);
  const results: RegionResult[] = [];
  /** Rows y0 ≤ y < y0 + rows of the region's P(fake) (`prob`, row-major at the box width) into the map; its pixels over the threshold. */
  const pasteRows = (box: Box, y0: number, rows: number, prob: Float32Array): number => {
    let maskArea = 0;
    for (let y = y0; y < y0 + rows; y++) {
      const row = (box.y + y) * image.width + box.x;
      const at = (y - y0) * box.width;
      for (let x = 0; x < box.width; x++) {
        const p = prob[at + x];
        if (p > threshold) maskArea++;
        if (p > probability[row + x]) probability[row + x] = p;
      }
    }
    return maskArea;
  };
  const result = (region: Region, score: number, maskArea: number): void => {
    results.push({ box: region.box, detectorScore: region.detectorScore, score, label: score > threshold ? 'fake' : 'real', maskArea });
  };
  if (engine.jpegInput !== undefined) {
    const source = opts.source;
    if (source === undefined) throw new MissingJpegSourceError(engine.name, 'no JPEG source came with the image');
    if (source.rgb.width !== image.width || source.rgb.height !== image.height)
      throw new MissingJpegSourceError(
        engine.name,
        `its JPEG source is ${source.rgb.width}×${source.rgb.height}, not the image's ${image.width}×${image.height}`,
      );
    for (const region of regions) {
      checkBox(image, region.box);
      const r = await runJpegRegion(engine, source, region.box, batchSize);
      const n = region.box.width * region.box.height;
      result(
        region,
        fakeProbability(r.imageLogits),
        pasteRows(region.box, 0, region.box.height, classProbability(r.maskLogits, r.classes, n, new Float32Array(n))),
      );
    }
  } else {
    const spec = preprocessSpecOf(engine);
    const side = spec.inputSize;
    for (let start = 0; start < regions.length; start += batchSize) {
      const chunk = regions.slice(start, start + batchSize);
      const input = new Float32Array(chunk.length * 3 * side * side);
      chunk.forEach((r, i) => preprocessInto(image, r.box, spec, input, i * 3 * side * side));
      const out = await engine.run(input, chunk.length);
      if (!allFinite(out.imageLogits) || !allFinite(out.maskLogits)) throw new NonFiniteOutputError(engine.name);
      const K = out.classes;
      const s = out.maskSide;
      chunk.forEach((region, i) => {
        const score = fakeProbability(out.imageLogits.subarray(i * K, (i + 1) * K));
        const logits = out.maskLogits.subarray(i * K * s * s, (i + 1) * K * s * s);
        const { width, height } = region.box;
        // band by band: a whole photo's K upsampled logit maps and its P(fake) (hundreds of MB at 4096²) never exist at once
        const band = Math.min(height, PROBABILITY_BAND_ROWS);
        const up = new Float32Array(K * band * width);
        const prob = new Float32Array(band * width);
        let maskArea = 0;
        for (let y = 0; y < height; y += band) {
          const rows = Math.min(band, height - y);
          resizeBilinearRows(logits, [K, s, s], [height, width], y, y + rows, up);
          maskArea += pasteRows(region.box, y, rows, classProbability(up, K, rows * width, prob));
        }
        result(region, score, maskArea);
      });
    }
  }
  const mask = new Uint8Array(probability.length);
  let maskArea = 0;
  for (let i = 0; i < mask.length; i++)
    if (probability[i] > threshold) {
      mask[i] = 255;
      maskArea++;
    }
  const score = results.reduce((m, r) => Math.max(m, r.score), 0);
  return {
    width: image.width,
    height: image.height,
    score,
    label: score > threshold ? 'fake' : 'real',
    threshold,
    regions: results,
    probability,
    mask,
    maskArea,
  };
}

/** Rows of a region's mask upsampled at once (K + 1 float maps of this many rows at the region's width). */
const PROBABILITY_BAND_ROWS = 64;

/**
 * P(fake) = softmax over K, class 1, of logits [K, n] (mask logits already at the box size: bilinear
 * on logits, official-spec §10), into the first n values of `out`.
 */
function classProbability(up: Float32Array, K: number, n: number, out: Float32Array): Float32Array {
  if (K === 2) {
    // the common case, without a per-pixel loop over K
    for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(up[i] - up[n + i]));
    return out;
  }
  const z = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) z[k] = up[k * n + i];
    out[i] = fakeProbability(z);
  }
  return out;
}

/** Jet colour map (blue → cyan → yellow → red) in 256 steps, RGB interleaved. */
export const JET = (() => {
  const lut = new Uint8Array(256 * 3);
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    lut.set([c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))], i * 3);
  }
  return lut;
})();

// 3×5 bitmap glyphs for the score label (rows top to bottom, 3 bits each, MSB left).
const GLYPHS: Record<string, readonly number[]> = {
  0: [7, 5, 5, 5, 7],
  1: [2, 6, 2, 2, 7],
  2: [7, 1, 7, 4, 7],
  3: [7, 1, 7, 1, 7],
  4: [5, 5, 7, 1, 1],
  5: [7, 4, 7, 1, 7],
  6: [7, 4, 7, 5, 7],
  7: [7, 1, 1, 1, 1],
  8: [7, 5, 7, 5, 7],
  9: [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
};

/**
 * The paper's Fig. 4 kind of picture: the P(fake) heat map blended over each region, its box
 * (red = fake, green = real) and its score written above the box. Same size as the input.
 */
export function renderOverlay(image: RgbImage, analysis: Analysis, alpha = 0.45): RgbImage {
  const out = new Uint8Array(image.data);
  const W = image.width;
  const put = (x: number, y: number, rgb: readonly number[]) => {
    if (x < 0 || y < 0 || x >= W || y >= image.height) return;
    out.set(rgb, (y * W + x) * 3);
  };
  for (const r of analysis.regions) {
    for (let y = r.box.y; y < r.box.y + r.box.height; y++) {
      for (let x = r.box.x; x < r.box.x + r.box.width; x++) {
        const i = (y * W + x) * 3;
        const j = Math.round(analysis.probability[y * W + x] * 255) * 3;
        for (let c = 0; c < 3; c++) out[i + c] = Math.round((1 - alpha) * image.data[i + c] + alpha * JET[j + c]);
      }
    }
  }
  for (const r of analysis.regions) {
    const colour = r.label === 'fake' ? [230, 30, 30] : [30, 200, 60];
    const t = Math.max(2, Math.round(Math.min(r.box.width, r.box.height) / 150));
    for (let k = 0; k < t; k++) {
      for (let x = r.box.x; x < r.box.x + r.box.width; x++) {
        put(x, r.box.y + k, colour);
        put(x, r.box.y + r.box.height - 1 - k, colour);
      }
      for (let y = r.box.y; y < r.box.y + r.box.height; y++) {
        put(r.box.x + k, y, colour);
        put(r.box.x + r.box.width - 1 - k, y, colour);
      }
    }
    const text = r.score.toFixed(2);
    const scale = Math.max(2, Math.round(r.box.width / 60));
    const top = r.box.y - 6 * scale - t >= 0 ? r.box.y - 6 * scale - t : r.box.y + t + scale;
    [...text].forEach((ch, n) => {
      const glyph = GLYPHS[ch] ?? [];
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 3; col++) {
          if (!((bits >> (2 - col)) & 1)) continue;
          for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) put(r.box.x + t + (n * 4 + col) * scale + dx, top + row * scale + dy, colour);
        }
      });
    });
  }
  return { width: image.width, height: image.height, data: out };
}
