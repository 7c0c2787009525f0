import { F, type Tensor } from '../../torch/index.js';
import type { MsccnetOutputs } from './msccnet.js';

/** Training targets: mask [B, H, W] with 0 real, 1 fake, 255 ignored; image label [B]. */
export interface MsccnetTargets {
  segmentation: Tensor;
  label: Tensor;
}

/** The official loss terms under their log keys, and their sum `total`. */
export interface MsccnetLosses {
  img_cls: Tensor;
  pix_cls_map?: Tensor;
  pix_cls_mask: Tensor;
  total: Tensor;
}

/** Pixel labels equal to this are ignored (the official padding value). */
export const IGNORE_INDEX = 255;

/**
 * The official loss (official-spec §7): L = CE(img) + CE(up(aux map)) + CE(up(mask)), each a
 * mean (pixel terms over every non-ignored pixel of the batch), logits up-sampled bilinearly
 * (align_corners false) to the target size. `auxLoss: false` drops the middle term (L_mscc).
 */
export function msccnetLosses(outputs: MsccnetOutputs, targets: MsccnetTargets, opts: { auxLoss: boolean }): MsccnetLosses {
  const [, H, W] = targets.segmentation.shape;
  const mask = targets.segmentation.long(); // the official `.long()`
  const pixelLoss = (logits: Tensor): Tensor =>
    F.crossEntropy(F.interpolate(logits, { size: [H, W], mode: 'bilinear', alignCorners: false }), mask, { ignoreIndex: IGNORE_INDEX });
  const img_cls = F.crossEntropy(outputs.imgLogits, targets.label.long());
  const pix_cls_map = opts.auxLoss && outputs.auxMap !== null ? pixelLoss(outputs.auxMap) : undefined;
  const pix_cls_mask = pixelLoss(outputs.maskLogits);
  const total = pix_cls_map === undefined ? img_cls.add(pix_cls_mask) : img_cls.add(pix_cls_map).add(pix_cls_mask);
  return pix_cls_map === undefined ? { img_cls, pix_cls_mask, total } : { img_cls, pix_cls_map, pix_cls_mask, total };
}
