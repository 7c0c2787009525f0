/**
 * Per-video units: a video's frames summed into one unit, and every headline metric of all units
 * equal to what the evaluator computes on the same records (the bootstrap recomputes these on
 * resampled videos, so they must be the evaluator's metrics, not averages of per-video values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Evaluator } from '../../src/eval/evaluator.js';
import type { SampleRecord } from '../../src/eval/record.js';
import { HEADLINE_METRICS, headlineMetric, videoUnits } from '../../src/eval/units.js';

const rec = (id: string, label: 0 | 1, score: number, confusion: [number, number, number, number], video?: string, method?: string): SampleRecord => ({
  id,
  label,
  score,
  confusion,
  ...(video !== undefined && { video }),
  ...(method !== undefined && { method }),
  inPixelHistogram: false,
});

test('videoUnits: frames of a video summed, a fake video is (method, video), repeats dropped, sorted by key', () => {
  const units = videoUnits([
    rec('a', 0, 0.2, [10, 2, 0, 0], '000'),
    rec('b', 1, 0.9, [5, 1, 2, 8], '000_003', 'Deepfakes'),
    rec('c', 0, 0.4, [12, 0, 0, 0], '000'),
    rec('d', 1, 0.7, [6, 0, 3, 7], '000_003', 'FaceSwap'),
    rec('a', 0, 0.99, [1, 1, 1, 1], '000'), // a repeated id: the first occurrence is kept
    rec('e', 1, 0.6, [0, 0, 1, 3]), // no video: its own unit
  ]);
  assert.deepEqual(units, [
    { video: '#e', label: 1, confusion: [0, 0, 1, 3], scores: [0.6] },
    { video: '/000', label: 0, confusion: [22, 2, 0, 0], scores: [0.2, 0.4] },
    { video: 'Deepfakes/000_003', label: 1, confusion: [5, 1, 2, 8], scores: [0.9] },
    { video: 'FaceSwap/000_003', label: 1, confusion: [6, 0, 3, 7], scores: [0.7] },
  ]);
  assert.throws(() => videoUnits([rec('x', 0, 0.1, [1, 0, 0, 0], 'v'), rec('y', 1, 0.1, [1, 0, 0, 0], 'v')]), /label 1 differs/);
});

test('headline metrics of all units are the evaluator official mIoU, F1, image AUC and its video AUC', () => {
  // 4 real videos × 3 frames, 6 fake videos × 3 frames, scores and counts from a fixed pattern
  const records: SampleRecord[] = [];
  for (let v = 0; v < 10; v++) {
    const label = v < 4 ? 0 : 1;
    for (let f = 0; f < 3; f++) {
      const k = 7 * v + 3 * f;
      const fake = label === 1 ? 10 + (k % 13) : 0;
      const hit = label === 1 ? Math.floor(fake * ((k % 5) / 5)) : 0;
      records.push(rec(`${v}-${f}`, label, ((k * 37) % 100) / 100, [100 - (k % 9), k % 9, fake - hit, hit], `v${v}`, label === 1 ? 'Deepfakes' : undefined));
    }
  }
  const r = Evaluator.fromState({ records, pixelHistogram: null }).result();
  const units = videoUnits(records);
  assert.equal(units.length, 10);
  const expected = { 'pixel mIoU': r.official.mIoU, 'pixel F1': r.official.F1, 'image AUC': r.official.AUC, 'video AUC': r.extras.videoAuc!.AUC };
  for (const m of HEADLINE_METRICS) assert.equal(headlineMetric(m, units), expected[m], m);
  // a unit drawn twice counts twice: doubling every unit leaves ratios and AUCs unchanged
  for (const m of HEADLINE_METRICS) assert.ok(Math.abs(headlineMetric(m, [...units, ...units]) - expected[m]) < 1e-12, m);
});

test('hand-computed: the image AUC ranks frames, the video AUC ranks video means, one class gives NaN', () => {
  // real video: frames 0.1 and 0.8 (mean 0.45); fake videos: 0.5 / 0.6 (means 0.5, 0.6)
  const units = videoUnits([
    rec('r1', 0, 0.1, [1, 0, 0, 0], 'r'),
    rec('r2', 0, 0.8, [1, 0, 0, 0], 'r'),
    rec('f1', 1, 0.5, [0, 0, 0, 1], 'f1', 'M'),
    rec('f2', 1, 0.6, [0, 0, 0, 1], 'f2', 'M'),
  ]);
  // frames: pairs (fake > real): 0.5>0.1, 0.6>0.1, 0.5<0.8, 0.6<0.8 → 2/4
  assert.equal(headlineMetric('image AUC', units), 0.5);
  // videos: 0.5 > 0.45 and 0.6 > 0.45 → 1
  assert.equal(headlineMetric('video AUC', units), 1);
  assert.ok(Number.isNaN(headlineMetric('video AUC', units.slice(0, 1))));
});
