import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Image } from '../../src/image/index.js';
import { dilateMask, elementToArray, ellipseElement, erodeMask, makeImage } from '../../src/image/index.js';
import { seeded, testCv } from '../helpers/opencv.js';

test('ellipseElement equals getStructuringElement(MORPH_ELLIPSE) for sizes 1–11, square and not', async () => {
  const { cv } = await testCv();
  for (let w = 1; w <= 11; w++) {
    for (const h of [w, Math.max(1, w - 2), w + 3]) {
      const k = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(w, h));
      try {
        assert.deepEqual(elementToArray(ellipseElement(w, h)), new Uint8Array(k.data), `${w}×${h}`);
      } finally {
        k.delete();
      }
    }
  }
});

function randomMask(width: number, height: number, density: number, rand: () => number): Image {
  const m = makeImage(width, height, 1);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rand() < density ? 255 : 0;
  return m;
}

test('dilateMask / erodeMask equal cv.dilate / cv.erode (default borders) on random masks', async () => {
  const { cv } = await testCv();
  const rand = seeded(7);
  const sizes: [number, number][] = [
    [1, 1],
    [2, 3],
    [5, 4],
    [13, 9],
    [31, 17],
    [64, 64],
    [101, 77],
    [130, 7],
  ];
  let cases = 0;
  for (const [w, h] of sizes) {
    for (const density of [0.02, 0.3, 0.9]) {
      const mask = randomMask(w, h, density, rand);
      for (const side of [3, 5, 7]) {
        for (const iterations of [1, 3]) {
          const kernel = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(side, side));
          const src = new cv.Mat(h, w, cv.CV_8UC1),
            dst = new cv.Mat(h, w, cv.CV_8UC1);
          try {
            src.data.set(mask.data);
            cv.dilate(src, dst, kernel, new cv.Point(-1, -1), iterations);
            assert.deepEqual(dilateMask(mask, ellipseElement(side), iterations).data, new Uint8Array(dst.data), `dilate ${w}×${h} ${side} ×${iterations}`);
            cv.erode(src, dst, kernel, new cv.Point(-1, -1), iterations);
            assert.deepEqual(erodeMask(mask, ellipseElement(side), iterations).data, new Uint8Array(dst.data), `erode ${w}×${h} ${side} ×${iterations}`);
            cases++;
          } finally {
            src.delete();
            dst.delete();
            kernel.delete();
          }
        }
      }
    }
  }
  assert.equal(cases, sizes.length * 3 * 3 * 2);
});
