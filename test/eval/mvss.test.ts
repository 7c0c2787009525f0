import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SampleRecord } from '../../src/eval/index.js';
import { mvssMetrics } from '../../src/eval/mvss.js';

const rec = (id: string, label: 0 | 1, maxPixelScore: number, [tn, fp, fn, tp]: [number, number, number, number]): SampleRecord => ({
  id,
  label,
  score: 0.5,
  confusion: [tn, fp, fn, tp],
  inPixelHistogram: false,
  maxPixelScore,
});

test('MVSS-Net metrics (evaluate.py): per-tampered-image pixel F1, image sen/spe/F1 at max-pixel score > 0.5, combined F1', () => {
  const m = mvssMetrics([
    rec('t1', 1, 0.9, [6, 1, 1, 2]), // F1 = 4 / (4 + 2 + 1e-6)
    rec('t2', 1, 0.4, [10, 0, 0, 0]), // empty prediction and ground truth: F1 = 1
    rec('t3', 1, 0.7, [5, 5, 0, 0]), // F1 = 0
    rec('a1', 0, 0.6, [9, 1, 0, 0]),
    rec('a2', 0, 0.2, [10, 0, 0, 0]),
  ])!;
  const pixelF1 = (4 / (6 + 1e-6) + 1 + 0) / 3;
  assert.ok(Math.abs(m.pixelF1 - pixelF1) < 1e-15);
  assert.equal(m.tampered, 3);
  // score > 0.5: tampered t1, t3 found, t2 missed; authentic a1 flagged, a2 not → sen 2/3, spe 1/2
  const [sen, spe] = [2 / (3 + 1e-6), 1 / (2 + 1e-6)];
  assert.ok(Math.abs(m.sensitivity - sen) < 1e-15 && Math.abs(m.specificity - spe) < 1e-15);
  assert.ok(Math.abs(m.imageACC - 3 / (5 + 1e-6)) < 1e-15);
  assert.ok(Math.abs(m.imageF1 - (2 * sen * spe) / (sen + spe)) < 1e-15);
  assert.ok(Math.abs(m.combinedF1 - (2 * pixelF1 * m.imageF1) / (pixelF1 + m.imageF1 + 1e-6)) < 1e-15);
  // AUC by max-pixel score: tampered 0.9, 0.4, 0.7 vs authentic 0.6, 0.2 → (2 + 1 + 2) / 6
  assert.ok(Math.abs(m.imageAUC - 5 / 6) < 1e-15);
  assert.equal(mvssMetrics([{ ...rec('x', 1, 0.9, [0, 0, 0, 1]), maxPixelScore: undefined }]), null);
});
