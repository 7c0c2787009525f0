/** Face boxes → model regions; browser-safe, so the page crops exactly as `detect` does. */
import { enlargeBox } from '../data/boxes.js';
import type { Region } from './pipeline.js';

/** What a face detector reports: its box [x, y, w, h] in image pixels and its confidence. */
export interface DetectedFace {
  readonly score: number;
  readonly box: readonly [x: number, y: number, w: number, h: number];
}

/** Square crops of `boxScale` × the longer box side around each face (FF++'s 1.3 by default). */
export function faceRegions(faces: readonly DetectedFace[], width: number, height: number, boxScale = 1.3): Region[] {
  return faces.map((f) => {
    const b = enlargeBox(f.box, boxScale, width, height);
    return { box: { x: b.x, y: b.y, width: b.size, height: b.size }, detectorScore: Math.min(1, Math.max(0, f.score)) };
  });
}
