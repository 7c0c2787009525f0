import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotateGrayPair, annotationStages } from '../../src/annotate/index.js';
import { makeImage } from '../../src/image/index.js';
import { seeded } from '../helpers/opencv.js';

// annotateGrayPair reuses full-size planes from call to call (grow-only, a smaller pair uses a prefix): sizes going
// up and down, and a pair after one that was skipped, must give exactly what the stage-keeping path gives.
test('annotateGrayPair with its reused planes equals annotationStages across changing sizes', async () => {
  const rand = seeded(7);
  const sizes = [
    [96, 80],
    [40, 52],
    [120, 120],
    [33, 47],
    [96, 80],
    [64, 30],
  ];
  for (const [k, [w, h]] of sizes.entries()) {
    const real = makeImage(w, h, 1),
      fake = makeImage(w, h, 1);
    for (let i = 0; i < w * h; i++) real.data[i] = fake.data[i] = 30 + Math.floor(rand() * 20);
    if (k !== 3) {
      // case 3: identical pair (skipped), leaving its values in the planes
      const [cx, cy, r] = [Math.floor(w / 3 + (rand() * w) / 3), Math.floor(h / 3 + (rand() * h) / 3), 4 + Math.floor(rand() * 6)];
      for (let y = cy - r; y < cy + r; y++) for (let x = cx - r; x < cx + r; x++) fake.data[y * w + x] = 150 + Math.floor(rand() * 100);
    }
    const expected = (await annotationStages(real, fake)).result;
    const fast = await annotateGrayPair(real, fake);
    assert.equal(fast.status, k === 3 ? 'skipped' : 'annotated', `case ${k}`);
    assert.deepEqual(fast, expected, `case ${k} (${w}×${h})`);
  }
});
