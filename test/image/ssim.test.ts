import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ssimMap } from '../../src/image/index.js';
import { seeded } from '../helpers/opencv.js';

/** Textbook SSIM with a direct 7×7 window sum per pixel (half-sample symmetric borders), as independent truth. */
function naiveSsim(x: Float64Array, y: Float64Array, w: number, h: number, L: number): Float64Array {
  const refl = (i: number, n: number): number => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const out = new Float64Array(w * h);
  const [C1, C2] = [(0.01 * L) ** 2, (0.03 * L) ** 2];
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let dr = -3; dr <= 3; dr++) {
        for (let dc = -3; dc <= 3; dc++) {
          const i = refl(r + dr, h) * w + refl(c + dc, w);
          sx += x[i];
          sy += y[i];
          sxx += x[i] * x[i];
          syy += y[i] * y[i];
          sxy += x[i] * y[i];
        }
      }
      const [mx, my] = [sx / 49, sy / 49];
      const vx = (49 / 48) * (sxx / 49 - mx * mx),
        vy = (49 / 48) * (syy / 49 - my * my),
        vxy = (49 / 48) * (sxy / 49 - mx * my);
      out[r * w + c] = ((2 * mx * my + C1) * (2 * vxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
    }
  }
  return out;
}

test('ssimMap equals a direct-window SSIM (uniform 7×7, sample covariance, reflect borders) for L = 2 and 1', () => {
  const rand = seeded(3);
  for (const [w, h] of [
    [7, 7],
    [23, 17],
    [64, 40],
  ] as const) {
    const x = Float64Array.from({ length: w * h }, () => Math.floor(rand() * 256) / 255);
    const y = x.map((v) => (rand() < 0.3 ? Math.floor(rand() * 256) / 255 : v));
    for (const L of [2, 1]) {
      const ours = ssimMap({ width: w, height: h, data: x }, { width: w, height: h, data: y }, { dataRange: L }).data;
      const truth = naiveSsim(x, y, w, h, L);
      let maxErr = 0;
      for (let i = 0; i < ours.length; i++) maxErr = Math.max(maxErr, Math.abs(ours[i] - truth[i]));
      assert.ok(maxErr < 1e-9, `${w}×${h} L=${L}: max error ${maxErr}`);
    }
  }
});

test('ssimMap of an image with itself is 1 everywhere', () => {
  const rand = seeded(4);
  const x = Float64Array.from({ length: 30 * 20 }, () => rand());
  const s = ssimMap({ width: 30, height: 20, data: x }, { width: 30, height: 20, data: x }).data;
  for (const v of s) assert.ok(Math.abs(v - 1) < 1e-12);
});
