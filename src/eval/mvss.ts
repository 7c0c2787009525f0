/**
 * The metrics of MVSS-Net's `evaluate.py` (dong03/MVSS-Net), the protocol of the paper's
 * Table 5, computed from our per-image records (official-spec's pixel rule: P(fake) > 0.5 is
 * argmax of the two logits):
 *
 *   pixel F1   per tampered image 2TP / (2TP + FP + FN + 1e-6), 1 when prediction and ground
 *              truth are both empty; averaged over tampered images
 *   image      score = the largest pixel P(fake) of the map (MVSS-Net's np.max(pred));
 *              AUC (sklearn); at score > 0.5: ACC, sensitivity, specificity (each with + 1e-6
 *              in the denominator) and F1 = 2·sen·spe / (sen + spe)
 *   combined   2·pixelF1·imageF1 / (pixelF1 + imageF1 + 1e-6)
 *
 * Differences, stated: MVSS-Net reads its predictions back from 8-bit PNGs (P quantised to
 * 1/255) and counts every nonzero mask pixel as forged; we use P unquantised and our ground
 * truth rule (255 forged, 0 authentic, anything else ignored), the same on binary masks.
 */
import type { SampleRecord } from './record.js';
import { rocAucScore } from './image.js';

export interface MvssMetrics {
  readonly pixelF1: number;
  readonly imageAUC: number;
  readonly imageACC: number;
  readonly sensitivity: number;
  readonly specificity: number;
  readonly imageF1: number;
  readonly combinedF1: number;
  /** tampered images in the pixel-F1 mean */
  readonly tampered: number;
}

/** MVSS-Net's metrics over the kept records; null when a record lacks its largest pixel score. */
export function mvssMetrics(kept: readonly SampleRecord[]): MvssMetrics | null {
  if (kept.length === 0 || kept.some((r) => r.maxPixelScore === undefined)) return null;
  const f1s = kept
    .filter((r) => r.label === 1)
    .map(({ confusion: [, fp, fn, tp] }) => (tp + fp === 0 && tp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn + 1e-6)));
  const pixelF1 = f1s.reduce((a, b) => a + b, 0) / f1s.length;
  let tp = 0,
    tn = 0,
    fp = 0,
    fn = 0;
  for (const r of kept) {
    const fake = r.maxPixelScore! > 0.5;
    if (fake && r.label === 1) tp++;
    else if (fake) fp++;
    else if (r.label === 1) fn++;
    else tn++;
  }
  const sensitivity = tp / (tp + fn + 1e-6);
  const specificity = tn / (tn + fp + 1e-6);
  const imageF1 = (2 * sensitivity * specificity) / (sensitivity + specificity);
  const labels = kept.map((r) => r.label);
  const imageAUC =
    labels.includes(0) && labels.includes(1)
      ? rocAucScore(
          labels,
          kept.map((r) => r.maxPixelScore!),
        )
      : Number.NaN;
  return {
    pixelF1,
    imageAUC,
    imageACC: (tp + tn) / (tp + tn + fn + fp + 1e-6),
    sensitivity,
    specificity,
    imageF1,
    combinedF1: (2 * pixelF1 * imageF1) / (imageF1 + pixelF1 + 1e-6),
    tampered: f1s.length,
  };
}
