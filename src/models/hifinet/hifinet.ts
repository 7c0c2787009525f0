import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import {
  parseMethodConfig,
  sigmoidAsTwoClass,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';
import type { Tap } from '../backbones/resnet.js';
import { FENet } from './fenet.js';
import { HIERARCHY_CLASSES, NLCDetection } from './segnet.js';

/**
 * HiFi-Net (Guo et al., CVPR 2023), the localization model of `CHELSEA234/HiFi_IFDL`
 * `HiFi_Net_loc.py`: FENet (stride-1 HRNet with a Laplacian frequency stem) and SegNet
 * (`NLCDetection_loc.py`), held as the two official modules `FENet` and `SegNet`.
 */

/** The isolating (deep-metric) loss's margin on forged pixels, in radii (`IsolatingLossFunction.margin_mani`). */
export const ISOLATING_MARGIN = 2.5;
/** The 'dm' decision threshold in radii (`IsolatingLossFunction.threshold`). */
export const ISOLATING_THRESHOLD = 1.85;

export const HifinetConfigSchema = z.strictObject({
  inputSize: z
    .number()
    .int()
    .min(32)
    .multipleOf(8)
    .default(256)
    .describe('square input side (official crop 256; FENet runs at it, SegNet resizes to cropSize)'),
  cropSize: z
    .number()
    .int()
    .min(32)
    .multipleOf(8)
    .default(256)
    .describe("SegNet's fixed working side (NLCDetection crop_size 256): features, image and mask are resized to it"),
  fakePath: z
    .tuple([z.number().int().min(1).max(2), z.number().int().min(1).max(4), z.number().int().min(1).max(6), z.number().int().min(1).max(13)])
    .default([2, 3, 5, 9])
    .describe(
      'project choice: the hierarchy classes (cls_4, cls_3, cls_2, cls_1) a fake image is trained towards, real being class 0 at every level; the default is the partial-manipulation path that ends in FaceShifter (level-1 class 9), the FF++ method among the 14',
    ),
  clsWeight: z
    .number()
    .min(0)
    .default(1)
    .describe('project choice: weight of the hierarchy loss (the sum of the four levels’ CE); the public code gives no weights'),
  maskWeight: z.number().min(0).default(1).describe('project choice: weight of the mask BCE on mask_binary'),
  isolating: z
    .strictObject({
      weight: z.number().min(0).default(1),
      center: z
        .union([z.number(), z.array(z.number()).length(18)])
        .describe('the real pixels’ centre c in the 18-d mask1_fea space (official: center_radius_init)'),
      radius: z.number().positive().describe('the radius R (official: the largest distance of a real pixel to c)'),
    })
    .nullable()
    .default(null)
    .describe('option: the isolating deep-metric loss, mean ‖f − c‖ of real pixels + mean (2.5R − ‖f − c‖)₊ of forged pixels; null leaves it out'),
});
export type HifinetConfig = z.output<typeof HifinetConfigSchema>;
export type HifinetConfigInput = z.input<typeof HifinetConfigSchema>;

export interface HifinetOutputs extends MethodOutputs {
  /**
   * [B, 2] adaptation: [log p₀, log(1 − p₀)] with p₀ = softmax(cls_1)[:, 0], the finest level's
   * "real"; its softmax is (p₀, 1 − p₀), and 1 − p₀ is `one_hot_label_new`'s `prob` of HiFi_Net.detect.
   */
  imgLogits: Tensor;
  /** [B, 2, S, S] [0, z] with mask_binary = σ(z), at the crop side S */
  maskLogits: Tensor;
  /** [B, 18, S, S] sigmoid(mask_feat), the deep-metric feature (official `mask`) */
  mask1_fea: Tensor;
  /** [B, S, S] the localization map */
  mask_binary: Tensor;
  cls_4: Tensor;
  cls_3: Tensor;
  cls_2: Tensor;
  cls_1: Tensor;
}

/** ‖f − c + 1e-6‖₂ per pixel of [B, 18, S, S] features (torch.nn.PairwiseDistance, as IsolatingLossFunction): [B, S, S]. */
export function isolatingDistance(features: Tensor, center: number | readonly number[]): Tensor {
  const diff = typeof center === 'number' ? features.sub(center) : features.sub(torch.tensor([...center], [1, center.length, 1, 1]).to(features.device));
  return diff.add(1e-6).pow(2).sum(1).sqrt();
}

/**
 * `IsolatingLossFunction.forward`'s total: the mean distance of real pixels (mask 0) plus the
 * mean hinge (2.5R − d)₊ of forged pixels (mask 1); a class with no pixel adds 0; 255 is ignored.
 */
export function isolatingLoss(features: Tensor, segmentation: Tensor, center: number | readonly number[], radius: number): Tensor {
  const d = isolatingDistance(features, center);
  const real = segmentation.eq(0).to(d.dtype);
  const fake = segmentation.eq(1).to(d.dtype);
  const hinge = d
    .neg()
    .add(ISOLATING_MARGIN * radius)
    .relu();
  return d
    .mul(real)
    .sum()
    .div(real.sum().clamp(1))
    .add(hinge.mul(fake).sum().div(fake.sum().clamp(1)));
}

/** The two official modules under their checkpoint names, with the benchmark's outputs and losses. */
export class HiFiNet extends Module implements MethodModel<HifinetOutputs> {
  readonly methodName = 'hifinet' as const;
  readonly config: HifinetConfig;
  readonly FENet: FENet;
  readonly SegNet: NLCDetection;

  constructor(config: HifinetConfigInput = {}) {
    super();
    this.config = parseMethodConfig('hifinet', HifinetConfigSchema, config);
    this.FENet = new FENet();
    this.SegNet = new NLCDetection(this.config.cropSize);
  }

  /**
   * The official input: RGB /255, no mean/std. Adaptation: cv2 INTER_CUBIC stands in for the
   * official PIL bicubic resize (docs/baselines.md).
   */
  get preprocessing(): Preprocessing {
    return { channelOrder: 'rgb', mean: [0, 0, 0], std: [255, 255, 255], inputSize: this.config.inputSize, resize: 'cv2-cubic' };
  }

  /** `SegNet(FENet(x), x)`; taps carry the parity fixture's names. */
  forward(x: Tensor, tap?: Tap): HifinetOutputs {
    const seg = this.SegNet.forward(this.FENet.forward(x, tap), x, tap);
    const [cls_4, cls_3, cls_2, cls_1] = seg.cls;
    const p = cls_1.softmax(1);
    const imgLogits = torch.stack(
      [
        p.select(1, 0).log(),
        p
          .narrow(1, 1, HIERARCHY_CLASSES[3] - 1)
          .sum(1)
          .log(),
      ],
      1,
    );
    return {
      imgLogits,
      maskLogits: sigmoidAsTwoClass(seg.maskLogit),
      mask1_fea: seg.maskFeature,
      mask_binary: seg.maskBinary,
      cls_4,
      cls_3,
      cls_2,
      cls_1,
    };
  }

  /**
   * Project choices (the public code has the loss classes, not the training script or weights):
   * `cls` = Σ over the four levels of CE(cls_k, class), real → 0, fake → `fakePath`; `mask` = BCE
   * of mask_binary against the mask at the crop side (nearest), ignored pixels left out;
   * `isolating` (option) on mask1_fea.
   */
  losses(outputs: HifinetOutputs, targets: MethodTargets): NamedLosses {
    const c = this.config;
    const label = targets.label.long();
    const levels = [outputs.cls_4, outputs.cls_3, outputs.cls_2, outputs.cls_1];
    const cls = levels.map((logits, k) => F.crossEntropy(logits, label.mul(c.fakePath[k]))).reduce((a, b) => a.add(b));
    const S = c.cropSize;
    let seg = targets.segmentation.unsqueeze(1).to('float32');
    if (seg.shape[2] !== S || seg.shape[3] !== S) seg = F.interpolate(seg, { size: [S, S], mode: 'nearest' });
    const logit = outputs.maskLogits.narrow(1, 1, 1);
    const valid = seg.ne(255).to(logit.dtype);
    const perPixel = F.binaryCrossEntropyWithLogits(logit, seg.eq(1).to(logit.dtype), { reduction: 'none' });
    const mask = perPixel.mul(valid).sum().div(valid.sum().clamp(1));
    let total = cls.mul(c.clsWeight).add(mask.mul(c.maskWeight));
    if (c.isolating === null) return { cls, mask, total };
    const isolating = isolatingLoss(outputs.mask1_fea, seg.squeeze(1), c.isolating.center, c.isolating.radius);
    total = total.add(isolating.mul(c.isolating.weight));
    return { cls, mask, isolating, total };
  }
}
