// Parity with ../shared/fixtures/metrics-eval: the official evaluation path run by the authors'
// code. Sizes, ids, labels, expected numbers and tolerances all come from the fixture folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Evaluator, firstOccurrences, officialSampleSteps, type EvaluationResult, type SampleResult } from '../../src/eval/index.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { readSafetensors, tensorOf } from '../helpers/safetensors.js';

interface ExpectedEntry {
  list_index: number;
  id: string;
  label: number;
  height: number;
  width: number;
  kept_after_dedup: boolean;
  prob_fake_float32: number;
  pred_fake_pixels: number;
  gt_fake_pixels: number;
  gt_ignored_pixels: number;
  confusion_matrix_gt_rows_pred_cols: [[number, number], [number, number]];
  [key: string]: unknown;
}
interface Expected {
  num_list_entries: number;
  num_after_dedup: number;
  entries: ExpectedEntry[];
  scenarios: {
    main: {
      image: { acc: number; auc: number; f1_macro: number; eer: number };
      image_parts: { n: number; n_pos: number; n_pred_pos: number; n_correct: number };
      pixel: {
        acc: number;
        mIoU: number;
        f1_macro: number;
        mcc: number;
        confusion_matrix_gt_rows_pred_cols: [[number, number], [number, number]];
        per_class: { f1_real: number; f1_fake: number; iou_real: number; iou_fake: number };
      };
      list_indices_used: number[];
    };
  };
}

const dir = fixtureDir('metrics-eval');
const expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Expected;
const file = await readSafetensors(join(dir, 'inputs_and_preds.safetensors'));
const readme = await readFile(join(dir, 'README.md'), 'utf8');

/** The README's suggested tolerances ("- 1e-12 for F1, mIoU, acc and MCC;"), by the names it lists. */
function tolerance(name: string): number {
  const bullets = [...readme.matchAll(/^\s*- (exact equality|\d(?:\.\d+)?e-\d+) for (.+?)[;.]?$/gm)];
  const hit = bullets.find(([, , names]) => names.split(/,\s*|\s+and\s+/).includes(name));
  if (hit === undefined) throw new Error(`README.md of metrics-eval gives no tolerance for ${name}`);
  return hit[1] === 'exact equality' ? 0 : Number(hit[1]);
}
const eerTolerance = Number(/EER comparison is optional \((\d(?:\.\d+)?e-\d+)\)/.exec(readme)?.[1] ?? Number.NaN);

const ids = JSON.parse(file.metadata.ids) as string[];
const maskLogits = tensorOf(file, 'mask_logits', 'F32');
const imgLogits = tensorOf(file, 'img_logits', 'F32');
const labels = tensorOf(file, 'labels', 'I32');
const [entriesN, classes, h, w] = maskLogits.shape;
const tag = (t: number) => String(t).padStart(2, '0');

const samples: SampleResult[] = ids.map((id, t) => {
  const gt = tensorOf(file, `gt_raw/${tag(t)}`, 'U8');
  return {
    id,
    label: labels.data[t],
    imageLogits: imgLogits.data.subarray(2 * t, 2 * t + 2),
    maskLogits: { data: maskLogits.data.subarray(t * classes * h * w, (t + 1) * classes * h * w), shape: [classes, h, w] },
    gtRaw: { data: gt.data, shape: [gt.shape[0], gt.shape[1]] },
  };
});

function near(actual: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - want) <= tol, `${what}: got ${actual}, expected ${want} (±${tol})`);
}

test('the fixture is the list the README describes', () => {
  assert.equal(ids.length, expected.num_list_entries);
  assert.equal(entriesN, expected.num_list_entries);
  assert.deepEqual(
    ids,
    expected.entries.map((e) => e.id),
  );
  assert.deepEqual(
    [...labels.data],
    expected.entries.map((e) => e.label),
  );
  assert.ok(Number.isFinite(eerTolerance), 'README gives the EER tolerance');
});

test('per entry: upsampled argmax equals the official pred pixel for pixel, and the counts agree', () => {
  const nearTieKey = Object.keys(expected.entries[0]).find((k) => k.startsWith('near_tie_pixels_absdiff_lt_'));
  assert.ok(nearTieKey !== undefined);
  const nearTie = Number(nearTieKey.slice('near_tie_pixels_absdiff_lt_'.length));
  const exact = tolerance('the predicted masks');
  for (const [t, e] of expected.entries.entries()) {
    const steps = officialSampleSteps(samples[t]);
    const official = tensorOf(file, `pred/${tag(t)}`, 'U8');
    assert.deepEqual([e.height, e.width], official.shape, `entry ${t} size`);
    const mismatches = steps.pred.filter((v, i) => Math.abs(v - official.data[i]) > exact).length;
    assert.equal(mismatches, 0, `entry ${t} (${e.id}): ${mismatches} pixels differ from pred/${tag(t)}`);
    const plane = e.height * e.width;
    let ties = 0;
    for (let p = 0; p < plane; p++) if (Math.abs(steps.upsampled[plane + p] - steps.upsampled[p]) < nearTie) ties++;
    assert.equal(ties, e[nearTieKey], `entry ${t} near ties`);
    assert.equal(
      steps.pred.reduce((a, v) => a + v, 0),
      e.pred_fake_pixels,
      `entry ${t} predicted fake pixels`,
    );
    assert.equal(steps.gt.filter((v) => v === 1).length, e.gt_fake_pixels, `entry ${t} gt fake pixels`);
    assert.equal(steps.gt.filter((v) => v === -1).length, e.gt_ignored_pixels, `entry ${t} ignored pixels`);
  }
});

test('per entry: the image score is the float32 softmax of the reference', () => {
  const tol = tolerance('the scores');
  for (const [t, e] of expected.entries.entries()) {
    near(officialSampleSteps(samples[t]).score, e.prob_fake_float32, tol, `entry ${t} (${e.id}) score`);
  }
});

test('per entry: the image score equals PyTorch float32 bit for bit (SLEEF exp emulated), saturated scores included', () => {
  for (const [t, e] of expected.entries.entries()) {
    assert.equal(officialSampleSteps(samples[t]).score, e.prob_fake_float32, `entry ${t} (${e.id})`);
  }
});

test('per entry: the confusion matrix of each image', () => {
  const evaluator = new Evaluator({ pixelAuc: false });
  for (const [t, e] of expected.entries.entries()) {
    const [n00, n01, n10, n11] = evaluator.add(samples[t]).confusion;
    assert.deepEqual(
      [
        [n00, n01],
        [n10, n11],
      ],
      e.confusion_matrix_gt_rows_pred_cols,
      `entry ${t} (${e.id})`,
    );
  }
});

test('de-duplication keeps the first occurrence of each id, as the official gather loop', () => {
  const kept = firstOccurrences(expected.entries, (e) => e.id).map((e) => e.list_index);
  assert.equal(kept.length, expected.num_after_dedup);
  assert.deepEqual(kept, expected.scenarios.main.list_indices_used);
  assert.deepEqual(
    kept,
    expected.entries.filter((e) => e.kept_after_dedup).map((e) => e.list_index),
  );
});

function assertMain(r: EvaluationResult): void {
  const main = expected.scenarios.main;
  const exact = tolerance('the confusion matrices');
  r.confusion.flat().forEach((v, i) => near(v, main.pixel.confusion_matrix_gt_rows_pred_cols.flat()[i], exact, `confusion[${i}]`));
  near(r.official.F1, main.pixel.f1_macro, tolerance('F1'), 'pix-F1');
  near(r.official.mIoU, main.pixel.mIoU, tolerance('mIoU'), 'pix-mIoU');
  near(r.official.pixAcc, main.pixel.acc, tolerance('acc'), 'pix-acc');
  near(r.official.pixMCC, main.pixel.mcc, tolerance('MCC'), 'pix-MCC');
  near(r.extras.perClass.f1Real, main.pixel.per_class.f1_real, tolerance('F1'), 'f1_real');
  near(r.extras.perClass.f1Fake, main.pixel.per_class.f1_fake, tolerance('F1'), 'f1_fake');
  near(r.extras.perClass.iouReal, main.pixel.per_class.iou_real, tolerance('mIoU'), 'iou_real');
  near(r.extras.perClass.iouFake, main.pixel.per_class.iou_fake, tolerance('mIoU'), 'iou_fake');
  near(r.official.ACC, main.image.acc, tolerance('ACC'), 'ACC');
  near(r.official.AUC, main.image.auc, tolerance('AUC'), 'AUC');
  near(r.official.imgF1, main.image.f1_macro, tolerance('ACC'), 'img-F1');
  near(r.official.EER, main.image.eer, eerTolerance, 'EER');
  assert.equal(r.counts.images, main.image_parts.n);
  assert.equal(r.counts.fake, main.image_parts.n_pos);
  assert.equal(r.counts.entries, expected.num_list_entries);
  assert.equal(r.counts.duplicatesDropped, expected.num_list_entries - expected.num_after_dedup);
}

test('official metrics over the whole list equal scenarios.main', () => {
  const evaluator = new Evaluator();
  for (const s of samples) evaluator.add(s);
  assertMain(evaluator.result());
});

test('two shards merged through JSON give the single-pass result, whatever the cut', () => {
  const single = new Evaluator();
  for (const s of samples) single.add(s);
  const whole = single.result();
  for (const cut of [1, 21, 44]) {
    const rank0 = new Evaluator();
    const rank1 = new Evaluator();
    samples.forEach((s, t) => (t < cut ? rank0 : rank1).add(s));
    const merged = Evaluator.fromState(JSON.parse(JSON.stringify(rank0.state()))).merge(JSON.parse(JSON.stringify(rank1.state())));
    const r = merged.result();
    assertMain(r);
    assert.deepEqual({ ...r, extras: { ...r.extras, pixelAuc: null } }, { ...whole, extras: { ...whole.extras, pixelAuc: null } }, `cut at ${cut}`);
  }
});
