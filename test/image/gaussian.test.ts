import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blurThresholdMask, gaussianBlur, makeImage } from '../../src/image/index.js';
import { seeded, testCv } from '../helpers/opencv.js';

const sizes: [number, number][] = [
  [1, 1],
  [2, 2],
  [3, 7],
  [9, 4],
  [40, 33],
  [128, 96],
];

test('gaussianBlur equals cv.GaussianBlur(ksize, 0) on float64 maps (REFLECT_101, fixed taps)', async () => {
  const { cv } = await testCv();
  const rand = seeded(11);
  for (const [w, h] of sizes) {
    const data = Float64Array.from({ length: w * h }, () => rand() * 2 - 0.5);
    for (const ksize of [3, 5, 7]) {
      const src = new cv.Mat(h, w, cv.CV_64FC1),
        dst = new cv.Mat(h, w, cv.CV_64FC1);
      try {
        src.data64F.set(data);
        cv.GaussianBlur(src, dst, new cv.Size(ksize, ksize), 0);
        const ours = gaussianBlur({ width: w, height: h, data }, ksize).data;
        let maxErr = 0;
        for (let i = 0; i < ours.length; i++) maxErr = Math.max(maxErr, Math.abs(ours[i] - dst.data64F[i]));
        assert.ok(maxErr <= 1e-15, `${w}×${h} k${ksize}: max error ${maxErr}`);
      } finally {
        src.delete();
        dst.delete();
      }
    }
  }
});

test('blurThresholdMask equals uint8(GaussianBlur(mask/255)·255) > 0 from opencv, values exactly', async () => {
  const { cv } = await testCv();
  const rand = seeded(12);
  for (const [w, h] of sizes) {
    for (const density of [0.01, 0.5, 0.97]) {
      const mask = makeImage(w, h, 1);
      for (let i = 0; i < mask.data.length; i++) mask.data[i] = rand() < density ? 255 : 0;
      for (const ksize of [3, 5, 7]) {
        const src = new cv.Mat(h, w, cv.CV_64FC1),
          dst = new cv.Mat(h, w, cv.CV_64FC1);
        try {
          for (let i = 0; i < mask.data.length; i++) src.data64F[i] = mask.data[i] / 255;
          cv.GaussianBlur(src, dst, new cv.Size(ksize, ksize), 0);
          const ours = blurThresholdMask(mask, ksize);
          assert.deepEqual(ours.blurred.data, new Float64Array(dst.data64F), `${w}×${h} k${ksize} values`);
          const expected = Uint8Array.from(dst.data64F, (v) => (Math.trunc(v * 255) > 0 ? 255 : 0));
          assert.deepEqual(ours.mask.data, expected, `${w}×${h} k${ksize} mask`);
        } finally {
          src.delete();
          dst.delete();
        }
      }
    }
  }
});
