import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Module, Parameter } from '../../nn/index.js';
import { IGNORE_INDEX } from '../msccnet/losses.js';
import { ImageHead } from '../mvss/backbone.js';
import {
  parseMethodConfig,
  pretrainedField,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';

/**
 * HP-FCN's official defaults (`hp_fcn.py` flags): filter_type d1, filter_learnable, focal loss
 * γ = 2; images in [0, 1] with no mean subtraction; the paper's 256² patches.
 */
export const HpfcnConfigSchema = z.strictObject({
  inputSize: z.number().int().min(16).multipleOf(16).default(256).describe('square input side, a multiple of 16'),
  focalGamma: z.number().min(0).default(2).describe('γ of the focal loss (official --focal_gamma 2)'),
  pretrained: pretrainedField(
    'the official code trains from scratch: its pre-activation resnet_small (9 input channels, widths 32–256) has no ImageNet counterpart, so only a whole checkpoint (from: official) loads',
  ),
});
export type HpfcnConfig = z.output<typeof HpfcnConfigSchema>;

/** slim's batch_norm inside resnet_arg_scope: decay 0.997 (momentum 0.003), ε 1e-5, with scale. */
function slimBatchNorm(channels: number): BatchNorm2d {
  return new BatchNorm2d(channels, { eps: 1e-5, momentum: 0.003 });
}

function param(shape: number[], fill: (t: Tensor) => void): Parameter {
  return torch.tidy(() =>
    torch.noGrad(() => {
      const t = torch.empty(shape);
      fill(t);
      return new Parameter(t);
    }),
  );
}

/**
 * tf.contrib.layers.variance_scaling_initializer() (slim resnet_arg_scope's): a normal of
 * std √(1.3 · 2 / fan_in) truncated at two std (redrawn beyond, as truncated_normal does).
 */
export function varianceScaling_(t: Tensor): void {
  const [cout, cin, kh, kw] = t.shape;
  const std = Math.sqrt((1.3 * 2) / (cin * kh * kw));
  torch.tidy(() => {
    let z = torch.randn([cout, cin, kh, kw]);
    for (let outside = z.abs().gt(2); outside.sum().item() > 0; outside = z.abs().gt(2)) z = torch.where(outside, torch.randn(z.shape), z);
    t.copy_(z.mul(std));
    return null;
  });
}

/**
 * A slim `conv2d` scope: `weights` (stored here as PyTorch OIHW), then either `BatchNorm` + ReLU
 * (the arg-scope default) or `biases` and no activation (`normalizer_fn=None, activation_fn=None`).
 */
export class SlimConv extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly BatchNorm: BatchNorm2d | null;
  constructor(
    cin: number,
    cout: number,
    kernel: number,
    readonly stride: number,
    normalized: boolean,
  ) {
    super();
    this.weight = param([cout, cin, kernel, kernel], varianceScaling_);
    this.bias = normalized ? null : param([cout], (t) => t.zero_());
    this.BatchNorm = normalized ? slimBatchNorm(cout) : null;
  }
  /** conv2d_same: symmetric (k − 1)/2 padding, which equals TF's for these odd kernels. */
  forward(x: Tensor): Tensor {
    const k = this.weight.shape[2];
    const y = F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: (k - 1) / 2 });
    return this.BatchNorm === null ? y : this.BatchNorm.forward(y).relu();
  }
}

/** resnet_v2 `bottleneck` (scope `bottleneck_v2`): pre-activation, shortcut conv or subsample, 1×1 → 3×3/s → 1×1. */
export class BottleneckV2 extends Module {
  readonly preact: BatchNorm2d;
  readonly shortcut: SlimConv | null;
  readonly conv1: SlimConv;
  readonly conv2: SlimConv;
  readonly conv3: SlimConv;
  constructor(
    depthIn: number,
    depth: number,
    depthBottleneck: number,
    readonly stride: number,
  ) {
    super();
    this.preact = slimBatchNorm(depthIn);
    this.shortcut = depth === depthIn ? null : new SlimConv(depthIn, depth, 1, stride, false);
    this.conv1 = new SlimConv(depthIn, depthBottleneck, 1, 1, true);
    this.conv2 = new SlimConv(depthBottleneck, depthBottleneck, 3, stride, true);
    this.conv3 = new SlimConv(depthBottleneck, depth, 1, 1, false);
  }
  forward(x: Tensor): Tensor {
    const preact = this.preact.forward(x).relu();
    const shortcut =
      this.shortcut !== null
        ? this.shortcut.forward(preact)
        : this.stride === 1
          ? x
          : x.slice(2, 0, undefined, this.stride).slice(3, 0, undefined, this.stride); // subsample = 1×1 max-pool
    return shortcut.add(this.conv3.forward(this.conv2.forward(this.conv1.forward(preact))));
  }
}

/** A resnet_v2 block (`blockN/unit_M/bottleneck_v2`); the stride sits on its last unit. */
class BlockV2 extends Module {
  constructor(depthIn: number, baseDepth: number, units: number, stride: number) {
    super();
    for (let u = 1; u <= units; u++) {
      const unit = new Unit(u === 1 ? depthIn : baseDepth * 4, baseDepth * 4, baseDepth, u === units ? stride : 1);
      Object.defineProperty(this, `unit_${u}`, { value: unit, enumerable: true });
    }
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const [, unit] of this.namedChildren()) y = (unit as Unit).forward(y);
    return y;
  }
}
class Unit extends Module {
  readonly bottleneck_v2: BottleneckV2;
  constructor(depthIn: number, depth: number, depthBottleneck: number, stride: number) {
    super();
    this.bottleneck_v2 = new BottleneckV2(depthIn, depth, depthBottleneck, stride);
  }
  forward(x: Tensor): Tensor {
    return this.bottleneck_v2.forward(x);
  }
}

/** `resnet_small` (no root block): blocks of base depth 32/64/128/256, 2 units, stride 2 each; `postnorm`. */
export class ResnetSmall extends Module {
  readonly block1: BlockV2;
  readonly block2: BlockV2;
  readonly block3: BlockV2;
  readonly block4: BlockV2;
  readonly postnorm: BatchNorm2d;
  constructor(depthIn: number) {
    super();
    this.block1 = new BlockV2(depthIn, 32, 2, 2);
    this.block2 = new BlockV2(128, 64, 2, 2);
    this.block3 = new BlockV2(256, 128, 2, 2);
    this.block4 = new BlockV2(512, 256, 2, 2);
    this.postnorm = slimBatchNorm(1024);
  }
}

/** The official high-pass filters `d1`: first-order differences down, right and diagonal. */
export const D1_FILTERS: readonly (readonly number[])[] = [
  [0, 0, 0, 0, -1, 0, 0, 1, 0],
  [0, 0, 0, 0, -1, 1, 0, 0, 0],
  [0, 0, 0, 0, -1, 0, 0, 0, 1],
];

/** `bilinear_upsample_weights(factor, out, in)` as a ConvTranspose weight [in, out, k, k]: the same kernel for every (in, out) pair. */
export function bilinearUpsampleWeights(factor: number, outChannels: number, inChannels: number): Float32Array {
  const size = 2 * factor - (factor % 2);
  const center = size % 2 === 1 ? factor - 1 : factor - 0.5;
  const kernel = new Float32Array(size * size);
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) kernel[i * size + j] = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
  const out = new Float32Array(inChannels * outChannels * size * size);
  for (let p = 0; p < inChannels * outChannels; p++) out.set(kernel, p * size * size);
  return out;
}

/**
 * HP-FCN (Li & Huang, ICCV 2019), `lihaod/Deep_inpainting_localization` `hp_fcn.py` (TensorFlow;
 * the variable layout and its mapping to these keys is the table in models/README.md): three
 * learnable high-pass depthwise filters, a pre-activation ResNet to 1/16, two 4× transposed
 * convolutions with bilinear initial kernels, BN + ReLU, a 5×5 conv to 2 classes at full size.
 * MSCCNet paper §5.1.3 adds the image head on the backbone output (`image_head.fc`, after
 * `postnorm` and a global mean).
 */
export class HPFCN extends Module implements MethodModel {
  readonly methodName = 'hpfcn' as const;
  readonly root_filter0: Parameter;
  readonly root_filter1: Parameter;
  readonly root_filter2: Parameter;
  readonly resnet_small: ResnetSmall;
  readonly bilinear_kernel0: Parameter;
  readonly bilinear_kernel1: Parameter;
  readonly post_norm: BatchNorm2d;
  readonly logits: SlimConv;
  readonly image_head: ImageHead;
  readonly config: HpfcnConfig;

  constructor(input: unknown = {}) {
    super();
    this.config = parseMethodConfig('hpfcn', HpfcnConfigSchema, input);
    const filter = (k: readonly number[]) => param([3, 1, 3, 3], (t) => t.copy_(torch.tensor([...k, ...k, ...k], [3, 1, 3, 3])));
    [this.root_filter0, this.root_filter1, this.root_filter2] = D1_FILTERS.map(filter);
    this.resnet_small = new ResnetSmall(9);
    this.bilinear_kernel0 = param([1024, 64, 8, 8], (t) => t.copy_(torch.tensor(bilinearUpsampleWeights(4, 64, 1024), [1024, 64, 8, 8])));
    this.bilinear_kernel1 = param([64, 4, 8, 8], (t) => t.copy_(torch.tensor(bilinearUpsampleWeights(4, 4, 64), [64, 4, 8, 8])));
    this.post_norm = slimBatchNorm(4);
    this.logits = new SlimConv(4, 2, 5, 1, false);
    this.image_head = new ImageHead(1024);
  }

  get preprocessing(): Preprocessing {
    return { channelOrder: 'rgb', mean: [0, 0, 0], std: [255, 255, 255], inputSize: this.config.inputSize, resize: 'cv2-linear' };
  }

  forward(x: Tensor): MethodOutputs {
    const residuals = torch.cat(
      [this.root_filter0, this.root_filter1, this.root_filter2].map((w) => F.conv2d(x, w, null, { padding: 1, groups: 3 })),
      1,
    ); // depthwise, filter-major channels as tf.concat
    const r = this.resnet_small;
    const block4 = r.block4.forward(r.block3.forward(r.block2.forward(r.block1.forward(residuals))));
    const imgLogits = this.image_head.forward(r.postnorm.forward(block4).relu());
    // conv2d_transpose, stride 4, SAME: kernel 8 → padding 2 each side, exactly 4× (to block2's size, then the input's)
    const up1 = F.convTranspose2d(block4, this.bilinear_kernel0, null, { stride: 4, padding: 2 });
    const up2 = F.convTranspose2d(up1, this.bilinear_kernel1, null, { stride: 4, padding: 2 });
    return { imgLogits, maskLogits: this.logits.forward(this.post_norm.forward(up2).relu()) };
  }

  /** `focal` = mean over non-ignored pixels of (1 − p_y)^γ · CE (official focal_loss); `cls` = CE on the image head. */
  losses(outputs: MethodOutputs, targets: MethodTargets): NamedLosses {
    const [, H, W] = targets.segmentation.shape;
    const logits = F.interpolate(outputs.maskLogits, { size: [H, W], mode: 'bilinear', alignCorners: false });
    const seg = targets.segmentation;
    const valid = seg.ne(IGNORE_INDEX).float();
    const onehot = torch.stack([seg.eq(0).float(), seg.eq(1).float()], 1);
    const logpY = logits.logSoftmax(1).mul(onehot).sum(1); // [B, H, W]
    const weight = logpY.exp().neg().add(1).pow(this.config.focalGamma);
    const focal = weight.mul(logpY).mul(valid).sum().neg().div(valid.sum().clamp(1));
    const cls = F.crossEntropy(outputs.imgLogits, targets.label.long());
    return { focal, cls, total: focal.add(cls) };
  }
}
