import { z } from 'zod';
import { F, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Linear } from '../../nn/index.js';
import {
  parseMethodConfig,
  pretrainedField,
  sigmoidAsTwoClass,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';
import { SeparableConv2d, Xception, XceptionBlock } from '../backbones/xception.js';
import type { Tap } from '../backbones/resnet.js';

/** FFD's official defaults (`train_map_supervised.py`: 299², Normalize(0.5, 0.5), L1 map + CE). */
export const FfdConfigSchema = z.strictObject({
  inputSize: z.number().int().min(64).default(299).describe('square input side (official Resize((299, 299)))'),
  mapWeight: z.number().min(0).default(1).describe('weight of the L1 attention-map loss (official loss1 + loss2)'),
  pretrained: pretrainedField("the official init is Cadene's ImageNet Xception (xception-b5690688.pth, from: cadene)"),
});
export type FfdConfig = z.output<typeof FfdConfigSchema>;

export interface FfdOutputs extends MethodOutputs {
  /** [B, 1, h, w] the attention map σ(map(x)) at block7 (1/16 of the input; 19² at 299²) */
  attentionMap: Tensor;
}

/**
 * Ground truth of FFD's supervised attention map from our mask: the fake fraction of each map
 * cell (area average of mask = 1, ignored pixels counted as real), what the official
 * `Resize((19, 19))` of a 0/1 mask image approximates.
 */
export function attentionMapTarget(segmentation: Tensor, size: readonly [number, number]): Tensor {
  const fake = segmentation.eq(1).float().unsqueeze(1);
  return F.adaptiveAvgPool2d(fake, size);
}

/**
 * FFD (Dang et al., CVPR 2020), the "Xception + Reg." model of `network/xception_map.py`: the
 * attention map from block7 multiplies the features (`mask_reg`), and the map is supervised by
 * the mask with L1. Every official module is built (also the unused template/PCA ones:
 * `bnmap`, `convmap`, `convmap2`, `linearmap`, `map_conv1`, `map_linear`), so official
 * checkpoints load strictly. Two-class mask = [0, z] of the map logit z (method.ts).
 */
export class FFD extends Xception implements MethodModel<FfdOutputs> {
  readonly methodName = 'ffd' as const;
  readonly map: SeparableConv2d;
  readonly bnmap: BatchNorm2d;
  readonly convmap: SeparableConv2d;
  readonly convmap2: SeparableConv2d;
  readonly linearmap: Linear;
  readonly map_conv1: XceptionBlock;
  readonly map_linear: Linear;
  readonly last_linear: Linear;
  readonly config: FfdConfig;

  constructor(input: unknown = {}) {
    super();
    this.config = parseMethodConfig('ffd', FfdConfigSchema, input);
    this.map = new SeparableConv2d(728, 1, 3, 1, 1, false);
    this.bnmap = new BatchNorm2d(728);
    this.convmap = new SeparableConv2d(728, 10, 3, 1, 1);
    this.convmap2 = new SeparableConv2d(10, 1, 3, 1, 1);
    this.linearmap = new Linear(3610, 10);
    this.map_conv1 = new XceptionBlock(728, 364, 2, 2, true, false);
    this.map_linear = new Linear(364, 10);
    this.last_linear = new Linear(2048, 2);
  }

  get preprocessing(): Preprocessing {
    return { channelOrder: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], inputSize: this.config.inputSize, resize: 'cv2-linear' };
  }

  /** `tap` sees the trunk's stages and `mask_logit`, `mask`, `masked`, `pooled`. */
  forward(x: Tensor, tap?: Tap): FfdOutputs {
    const map: { logit?: Tensor; sigmoid?: Tensor } = {};
    const features = this.features(x, {
      tap,
      atBlock7: (h) => {
        map.logit = this.map.forward(h); // mask_reg
        map.sigmoid = map.logit.sigmoid();
        tap?.('mask_logit', map.logit);
        tap?.('mask', map.sigmoid);
        const masked = h.mul(map.sigmoid);
        tap?.('masked', masked);
        return masked;
      },
    });
    const [B, C] = features.shape;
    const pooled = F.adaptiveAvgPool2d(features.relu(), [1, 1]).reshape([B, C]); // logits(): relu, global mean, last_linear
    tap?.('pooled', pooled);
    return { imgLogits: this.last_linear.forward(pooled), maskLogits: sigmoidAsTwoClass(map.logit!), attentionMap: map.sigmoid! };
  }

  /** Official loss: `cls` = CE(image logits, label), `map` = L1(σ map, fake fraction per cell). */
  losses(outputs: FfdOutputs, targets: MethodTargets): NamedLosses {
    const [, , h, w] = outputs.attentionMap.shape;
    const cls = F.crossEntropy(outputs.imgLogits, targets.label.long());
    const map = outputs.attentionMap
      .sub(attentionMapTarget(targets.segmentation, [h, w]))
      .abs()
      .mean();
    return { cls, map, total: cls.add(map.mul(this.config.mapWeight)) };
  }
}
