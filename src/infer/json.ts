/**
 * Builds the JSON values that schema.ts declares, from an analysis or an error. Free of zod, so
 * the page can use it without bundling the schemas.
 */
import type { MsccnetError } from '../errors.js';
import type { Analysis } from './pipeline.js';
import type { ErrorResult, ImageAnalysis, RegionResultJson } from './schema.js';

/** The face regions of an analysis as JSON. */
export function regionsJson(a: Analysis): RegionResultJson[] {
  return a.regions.map((r) => ({
    box: [r.box.x, r.box.y, r.box.width, r.box.height],
    detectorScore: r.detectorScore,
    score: r.score,
    label: r.label,
    maskArea: r.maskArea,
  }));
}

/** An analysed image as JSON (`seconds` from its start to now, as the caller measured). */
export function imageAnalysisJson(a: Analysis, engine: string, warnings: string[], seconds: number): ImageAnalysis {
  return {
    engine,
    width: a.width,
    height: a.height,
    score: a.score,
    label: a.label,
    threshold: a.threshold,
    faces: regionsJson(a),
    maskArea: a.maskArea,
    maskFraction: a.maskArea / (a.width * a.height),
    warnings,
    seconds,
  };
}

/** An error as JSON, from its `toJSON()` (no re-parsing of `message`). */
export function errorJson(err: MsccnetError): ErrorResult {
  const { code, problem, hint } = err.toJSON();
  return { code, message: problem, hint };
}
