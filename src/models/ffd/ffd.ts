import { z } from 'zod';
import { F, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Linear, Module } from '../../nn/index.js';
import {
  parseMethodConfig,
  sigmoidAsTwoClass,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';
import { SeparableConv2d, XceptionBlock } from '../backbones/xception.js';

/** FFD's official defaults (`train_map_supervised.py`: 299², Normalize(0.5, 0.5), L1 map + CE). */
export const FfdConfigSchema = z.strictObject({
  inputSize: z.number().int().min(64).default(299).describe('square input side (official Resize((299, 299)))'),
  mapWeight: z.number().min(0).default(1).describe('weight of the L1 attention-map loss (official loss1 + loss2)'),
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
export class FFD extends Module implements MethodModel<FfdOutputs> {
  readonly methodName = 'ffd' as const;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly block1: XceptionBlock;
  readonly block2: XceptionBlock;
  readonly block3: XceptionBlock;
  readonly block4: XceptionBlock;
  readonly block5: XceptionBlock;
  readonly block6: XceptionBlock;
  readonly block7: XceptionBlock;
  readonly block8: XceptionBlock;
  readonly block9: XceptionBlock;
  readonly block10: XceptionBlock;
  readonly block11: XceptionBlock;
  readonly block12: XceptionBlock;
  readonly conv3: SeparableConv2d;
  readonly bn3: BatchNorm2d;
  readonly conv4: SeparableConv2d;
  readonly bn4: BatchNorm2d;
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
    this.conv1 = new Conv2d(3, 32, 3, { stride: 2, padding: 0, bias: false });
    this.bn1 = new BatchNorm2d(32);
    this.conv2 = new Conv2d(32, 64, 3, { bias: false });
    this.bn2 = new BatchNorm2d(64);
    this.block1 = new XceptionBlock(64, 128, 2, 2, false, true);
    this.block2 = new XceptionBlock(128, 256, 2, 2, true, true);
    this.block3 = new XceptionBlock(256, 728, 2, 2, true, true);
    [this.block4, this.block5, this.block6, this.block7, this.block8, this.block9, this.block10, this.block11] = Array.from(
      { length: 8 },
      () => new XceptionBlock(728, 728, 3, 1, true, true),
    );
    this.block12 = new XceptionBlock(728, 1024, 2, 2, true, false);
    this.conv3 = new SeparableConv2d(1024, 1536, 3, 1, 1);
    this.bn3 = new BatchNorm2d(1536);
    this.conv4 = new SeparableConv2d(1536, 2048, 3, 1, 1);
    this.bn4 = new BatchNorm2d(2048);
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

  forward(x: Tensor): FfdOutputs {
    let h = this.bn1.forward(this.conv1.forward(x)).relu();
    h = this.bn2.forward(this.conv2.forward(h)).relu();
    for (const b of [this.block1, this.block2, this.block3, this.block4, this.block5, this.block6, this.block7]) h = b.forward(h);
    const mapLogit = this.map.forward(h); // mask_reg
    const attentionMap = mapLogit.sigmoid();
    h = h.mul(attentionMap);
    for (const b of [this.block8, this.block9, this.block10, this.block11, this.block12]) h = b.forward(h);
    h = this.bn3.forward(this.conv3.forward(h)).relu();
    h = this.bn4.forward(this.conv4.forward(h)).relu(); // logits(): relu, global mean, last_linear
    const [B, C] = h.shape;
    const imgLogits = this.last_linear.forward(F.adaptiveAvgPool2d(h, [1, 1]).reshape([B, C]));
    return { imgLogits, maskLogits: sigmoidAsTwoClass(mapLogit), attentionMap };
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
