/** The P(fake) heat map as an RGBA layer (browser-safe): jet colours inside the analysed regions, clear elsewhere. */
import { JET, type Analysis } from '../infer/pipeline.js';

export function heatmapRgba(a: Analysis): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(a.width * a.height * 4));
  for (const r of a.regions) {
    for (let y = r.box.y; y < r.box.y + r.box.height; y++) {
      for (let x = r.box.x; x < r.box.x + r.box.width; x++) {
        const i = y * a.width + x;
        const j = Math.round(a.probability[i] * 255) * 3; // the overlay's colours (renderOverlay)
        out.set([JET[j], JET[j + 1], JET[j + 2], 255], i * 4);
      }
    }
  }
  return out;
}
