/**
 * The demo's pictures as PNG bytes: a Fig.-4-style grid (input, annotation, Base. and MSCCNet
 * P(fake) maps per test crop) and a Fig.-3-style strip of the annotation's stages for one pair.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { annotationStages } from '../annotate/index.js';
import type { ManifestEntry } from '../data/manifest.js';
import { encodePng, makeImage, readColor, readGray, resize, type FloatMap, type Image } from '../image/index.js';
import { analyze, createTorchEngine, fileSource, JET, type InferenceEngine } from '../infer/index.js';
import type { MethodModel } from '../models/index.js';
import { methodLabel, type DemoBaseline } from './plan.js';

export interface GridRow {
  /** the manifest method folder (`youtube` for reals) and its honest label */
  readonly method: string;
  readonly label: string;
  readonly image: string;
  /** P(fake) of the image head */
  readonly scores: { readonly base: number; readonly msccnet: number };
  /** fake-class IoU of the thresholded (0.5) prediction against the annotation; null for reals */
  readonly fakeIoU: { readonly base: number | null; readonly msccnet: number | null };
  /** PNGs: the crop, the annotation mask, and the two P(fake) maps in the jet colour map */
  readonly png: { readonly input: Buffer; readonly annotation: Buffer; readonly base: Buffer; readonly msccnet: Buffer };
  /** the same for each baseline of the run (one more Fig. 4 column each) */
  readonly baselines: readonly BaselinePrediction[];
}

export interface BaselinePrediction {
  readonly method: DemoBaseline;
  readonly score: number;
  readonly fakeIoU: number | null;
  readonly png: Buffer;
}

/** A P(fake) map in [0, 1] as a jet-coloured RGB image. */
function jet(p: Float32Array, width: number, height: number): Image {
  const out = makeImage(width, height, 3);
  for (let i = 0; i < p.length; i++) {
    const j = Math.round(Math.min(1, Math.max(0, p[i]!)) * 255) * 3;
    out.data.set(JET.subarray(j, j + 3), i * 3);
  }
  return out;
}

function fakeIoU(p: Float32Array, gt: Uint8Array): number | null {
  let inter = 0;
  let union = 0;
  let positives = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! > 0.5;
    const b = gt[i]! > 127;
    if (b) positives++;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return positives === 0 ? null : inter / union;
}

/**
 * Runs Base. and the baselines (libtorch) and MSCCNet (its ONNX export) on each crop; `onItem`
 * after each model run. The libtorch models are disposed at the end.
 */
export async function predictionGrid(
  root: string,
  entries: readonly ManifestEntry[],
  models: { base: MethodModel; msccnet: InferenceEngine; baselines?: ReadonlyArray<{ method: DemoBaseline; model: MethodModel }> },
  onItem: () => void,
): Promise<GridRow[]> {
  const baseEngine = createTorchEngine(models.base);
  const baselineEngines = (models.baselines ?? []).map((b) => ({ method: b.method, engine: createTorchEngine(b.model) }));
  const rows: GridRow[] = [];
  try {
    for (const e of entries) {
      const path = join(root, e.image);
      const rgb = await readColor(path);
      const gt = e.mask === null ? makeImage(rgb.width, rgb.height, 1) : await readGray(join(root, e.mask));
      const region = [{ box: { x: 0, y: 0, width: rgb.width, height: rgb.height }, detectorScore: null }];
      const image = { width: rgb.width, height: rgb.height, data: rgb.data };
      const b = await analyze(baseEngine, image, region);
      onItem();
      const m = await analyze(models.msccnet, image, region);
      onItem();
      const baselines: BaselinePrediction[] = [];
      const bytes = baselineEngines.some((b) => b.engine.jpegInput !== undefined) ? new Uint8Array(await readFile(path)) : null;
      for (const { method, engine } of baselineEngines) {
        // a method that reads the file (CAT-Net) gets the crop's own JPEG, or its recorded re-encode
        const source = bytes === null ? undefined : await fileSource(engine, bytes, image, () => undefined);
        const p = await analyze(engine, image, region, { source });
        onItem();
        baselines.push({ method, score: p.score, fakeIoU: fakeIoU(p.probability, gt.data), png: await encodePng(jet(p.probability, rgb.width, rgb.height)) });
      }
      rows.push({
        method: e.method,
        label: e.label === 0 ? 'real' : methodLabel(e.method),
        image: e.image,
        scores: { base: b.score, msccnet: m.score },
        fakeIoU: { base: fakeIoU(b.probability, gt.data), msccnet: fakeIoU(m.probability, gt.data) },
        png: {
          input: await encodePng(rgb),
          annotation: await encodePng(gt),
          base: await encodePng(jet(b.probability, rgb.width, rgb.height)),
          msccnet: await encodePng(jet(m.probability, rgb.width, rgb.height)),
        },
        baselines,
      });
    }
  } finally {
    models.base.dispose();
    for (const b of models.baselines ?? []) b.model.dispose();
  }
  return rows;
}

export interface AnnotationStrip {
  readonly real: string;
  readonly fake: string;
  /** the stages in order, each a caption and a PNG */
  readonly steps: ReadonlyArray<{ readonly caption: string; readonly png: Buffer }>;
}

/** A float map min–max scaled to 0–255 grey. */
function greyOf(map: FloatMap): Image {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = makeImage(map.width, map.height, 1);
  for (let i = 0; i < map.data.length; i++) out.data[i] = hi > lo ? Math.round((255 * (map.data[i]! - lo)) / (hi - lo)) : 0;
  return out;
}

/** 0/1 images scaled to 0/255 so they are visible. */
function visible(mask: Image): Image {
  return makeImage(
    mask.width,
    mask.height,
    1,
    mask.data.map((v) => (v > 0 ? 255 : 0)),
  );
}

/** Paper Fig. 3 on one raw pair: real, fake, 1 − SSIM, blurred difference, threshold, dilation, hull, erosion, mask. */
export async function annotationStrip(root: string, pair: { real: ManifestEntry; fake: ManifestEntry }): Promise<AnnotationStrip> {
  const [real, fake] = await Promise.all([readColor(join(root, pair.real.image)), readColor(join(root, pair.fake.image))]);
  const [realGray, fakeGray] = await Promise.all([readGray(join(root, pair.real.image)), readGray(join(root, pair.fake.image))]);
  const s = await annotationStages(realGray, fakeGray);
  const oneMinus: FloatMap = { width: s.ssim.width, height: s.ssim.height, data: s.ssim.data.map((v) => 1 - v) };
  const steps: Array<{ caption: string; image: Image | null }> = [
    { caption: 'real crop', image: real },
    { caption: 'fake crop (synthetic)', image: fake },
    { caption: '1 − SSIM(fake, real)', image: greyOf(oneMinus) },
    { caption: 'normalised, 5×5 blur', image: s.diffBlurred && greyOf(s.diffBlurred) },
    { caption: 'threshold 0.08', image: s.factor && visible(s.factor) },
    { caption: '3 × dilation', image: s.dilated },
    { caption: 'convex hull', image: s.hullFilled },
    { caption: '3 × erosion', image: s.eroded },
    { caption: 'final mask (7×7 blur ≥ 1/255)', image: s.result.status === 'annotated' ? s.result.mask : null },
  ];
  const shown = steps.filter((x): x is { caption: string; image: Image } => x.image !== null);
  const side = Math.min(160, real.width);
  return {
    real: pair.real.image,
    fake: pair.fake.image,
    steps: await Promise.all(
      shown.map(async (x) => ({ caption: x.caption, png: await encodePng(x.image.width > side ? await resize(x.image, side, side) : x.image) })),
    ),
  };
}
