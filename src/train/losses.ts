/**
 * The training objective: the official three cross-entropy terms (models/msccnet/losses.ts:
 * ignore index 255, pixel means over every non-ignored pixel of the batch) with configurable
 * weights, summed in the official order img_cls, pix_cls_map, pix_cls_mask.
 */
import type { Tensor } from '../torch/index.js';
import { msccnetLosses, type MsccnetOutputs, type MsccnetTargets } from '../models/index.js';

export interface LossWeights {
  readonly img_cls: number;
  readonly pix_cls_map: number;
  readonly pix_cls_mask: number;
}

export type LossKey = keyof LossWeights;

export interface WeightedLosses {
  /** the unweighted terms under the official log keys (pix_cls_map absent without the aux loss) */
  readonly terms: Partial<Record<LossKey, Tensor>>;
  /** Σ weight·term, the value that is backpropagated */
  readonly total: Tensor;
}

export function trainingLoss(outputs: MsccnetOutputs, targets: MsccnetTargets, weights: LossWeights, auxLoss: boolean): WeightedLosses {
  const l = msccnetLosses(outputs, targets, { auxLoss });
  const terms: Partial<Record<LossKey, Tensor>> = { img_cls: l.img_cls, pix_cls_map: l.pix_cls_map, pix_cls_mask: l.pix_cls_mask };
  let total: Tensor | null = null;
  for (const key of ['img_cls', 'pix_cls_map', 'pix_cls_mask'] as const) {
    const t = terms[key];
    if (t === undefined) { delete terms[key]; continue; }
    const w = weights[key];
    const weighted = w === 1 ? t : t.mul(w);               // weight 1 keeps the official sum bit for bit
    total = total === null ? weighted : total.add(weighted);
  }
  return { terms, total: total! };
}
