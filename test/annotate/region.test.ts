import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationStages } from '../../src/annotate/index.js';
import type { Image } from '../../src/image/index.js';
import {
  blurThresholdMask,
  convexHull,
  dilateMask,
  ellipseElement,
  erodeMask,
  fillConvexPoly,
  findContours,
  loadOpenCv,
  makeImage,
} from '../../src/image/index.js';
import { seeded } from '../helpers/opencv.js';

/** Steps 6–9 of the official procedure on the full frame, composed directly from the primitives. */
async function fullFrameMask(changed: Image): Promise<Image | null> {
  const { cv } = await loadOpenCv();
  const dilated = dilateMask(changed, ellipseElement(7), 3);
  const kept = findContours(cv, dilated).points.filter((p) => p.length / 2 > 5);
  if (kept.length === 0) return null;
  const all = new Int32Array(kept.reduce((n, p) => n + p.length, 0));
  kept.reduce((o, p) => (all.set(p, o), o + p.length), 0);
  const filled = fillConvexPoly(cv, changed.width, changed.height, convexHull(cv, all));
  return blurThresholdMask(erodeMask(filled, ellipseElement(5), 3), 7).mask;
}

test('working inside the box of the changed pixels gives the full-frame result (changes at edges and corners too)', async () => {
  const rand = seeded(99);
  let annotatedCount = 0;
  for (let k = 0; k < 40; k++) {
    const [w, h] = [40 + Math.floor(rand() * 60), 40 + Math.floor(rand() * 60)];
    const real = makeImage(w, h, 1),
      fake = makeImage(w, h, 1);
    for (let i = 0; i < w * h; i++) real.data[i] = fake.data[i] = 40 + Math.floor(rand() * 10);
    for (let b = 0; b < 1 + Math.floor(rand() * 3); b++) {
      // blobs anywhere, often touching an edge
      const [cx, cy, r] = [Math.floor(rand() * w), Math.floor(rand() * h), 1 + Math.floor(rand() * 6)];
      for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++) {
        for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) fake.data[y * w + x] = 200;
      }
    }
    const stages = await annotationStages(real, fake);
    const expected = stages.changed === null ? null : await fullFrameMask(stages.changed);
    if (expected === null) {
      assert.equal(stages.result.status, 'skipped', `case ${k}`);
      continue;
    }
    assert.equal(stages.result.status, 'annotated', `case ${k}`);
    assert.deepEqual(stages.result.status === 'annotated' && stages.result.mask.data, expected.data, `case ${k}`);
    annotatedCount++;
  }
  assert.ok(annotatedCount >= 20, `${annotatedCount} of 40 cases annotated`);
});
