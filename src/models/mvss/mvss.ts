import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Dropout, Module, Parameter, ReLU, Sequential, type TensorModule } from '../../nn/index.js';
import type { Tap } from '../backbones/resnet.js';
import {
  IMAGENET_NORMALIZE,
  parseMethodConfig,
  pretrainedField,
  sigmoidAsTwoClass,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';
import { ImageHead, MvssResNet50 } from './backbone.js';

/**
 * MVSS-Net (Chen et al., ICCV 2021), `dong03/MVSS-Net` `models/mvssnet.py` with the released
 * configuration `get_mvss(sobel=True, constrain=True, nclass=1)`. Defaults of the loss: the
 * paper's α = 0.16 (segmentation Dice), β = 0.04 (classification), 1 − α − β (edge Dice).
 */
export const MvssConfigSchema = z.strictObject({
  inputSize: z.number().int().min(32).default(512).describe('square input side (official 512²)'),
  sobel: z.boolean().default(true).describe('edge-supervised branch with Sobel layers (official release: on)'),
  constrain: z.boolean().default(true).describe('noise-sensitive branch: BayarConv + second ResNet-50 (official release: on)'),
  alpha: z.number().min(0).max(1).default(0.16).describe('weight of the segmentation Dice loss'),
  beta: z.number().min(0).max(1).default(0.04).describe('weight of the image classification loss'),
  edgeWidth: z.number().int().min(1).default(1).describe('half-width in edge-map pixels of the boundary band derived from the mask'),
  pretrained: pretrainedField('the official init is torchvision ResNet-50 (ImageNet) in both ResNets'),
});
export type MvssConfig = z.output<typeof MvssConfigSchema>;

export interface MvssOutputs extends MethodOutputs {
  /** [B, 1, H/4, W/4] edge logits (`res1`, the ERB output) */
  edgeLogits: Tensor;
}

/** conv3×3 without bias + BN(1): the official `get_sobel` pair, weights fixed to Sobel kernels (requires_grad False). */
function sobelPair(inChannels: number): [Sequential, Sequential] {
  const fx = [1, 0, -1, 2, 0, -2, 1, 0, -1];
  const fy = [1, 2, 1, 0, 0, 0, -1, -2, -1];
  const make = (k: number[]) => {
    const conv = new Conv2d(inChannels, 1, 3, { padding: 1, bias: false });
    torch.noGrad(() => conv.weight.copy_(torch.tidy(() => torch.tensor(k, [1, 1, 3, 3]).expand([1, inChannels, 3, 3]))));
    conv.weight.requiresGrad = false;
    return new Sequential(conv, new BatchNorm2d(1));
  };
  return [make(fx), make(fy)];
}

/** `run_sobel`: σ(√(g_x² + g_y²)) · x. */
function runSobel(sx: Sequential, sy: Sequential, x: Tensor): Tensor {
  const gx = sx.forward(x);
  const gy = sy.forward(x);
  return gx.pow(2).add(gy.pow(2)).sqrt().sigmoid().mul(x);
}

/** Edge residual block (official `ERB`). */
export class ERB extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly relu: ReLU;
  readonly bn: BatchNorm2d;
  readonly conv3: Conv2d;
  constructor(inChannels: number, outChannels: number) {
    super();
    this.conv1 = new Conv2d(inChannels, outChannels, 1);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1 });
    this.relu = new ReLU();
    this.bn = new BatchNorm2d(outChannels);
    this.conv3 = new Conv2d(outChannels, outChannels, 3, { padding: 1 });
  }
  forward(x: Tensor, relu = true): Tensor {
    const y = this.conv1.forward(x);
    const out = y.add(this.conv3.forward(this.bn.forward(this.conv2.forward(y)).relu()));
    return relu ? out.relu() : out;
  }
}

/** `BayarConv2d(1 → 3, 5×5)`: 24 free taps per filter normalised to sum 1, centre −1 (constrained convolution). */
export class BayarConv2d extends Module {
  readonly kernel: Parameter;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize = 5,
    readonly padding = 0,
  ) {
    super();
    this.kernel = torch.tidy(() => new Parameter(torch.rand([inChannels, outChannels, kernelSize ** 2 - 1])));
  }
  /** The 24 free taps of each filter divided by their sum (the official `bayarConstraint`'s division). */
  normalisedKernel(): Tensor {
    return this.kernel.div(this.kernel.sum(2, true));
  }
  /** [out, in, k, k] from taps [in, out, k² − 1]: the centre tap −1 inserted (on the taps' device). */
  private assemble(taps: Tensor): Tensor {
    const ctr = Math.floor(this.kernelSize ** 2 / 2);
    const minus1 = torch.full([this.inChannels, this.outChannels, 1], -1, { dtype: taps.dtype, device: taps.device });
    return torch
      .cat([taps.narrow(2, 0, ctr), minus1, taps.narrow(2, ctr, taps.shape[2] - ctr)], 2)
      .reshape([this.outChannels, this.inChannels, this.kernelSize, this.kernelSize]);
  }
  realKernel(): Tensor {
    return this.assemble(this.normalisedKernel());
  }
  /**
   * Training follows the official `bayarConstraint`: `kernel.data` is divided by its tap sums in
   * place (outside autograd) and the taps enter the kernel as they are, so the gradient reaches
   * the normalised taps directly and the stored kernel stays normalised. Eval keeps the division
   * in the graph: the same values (the first forward of an un-normalised kernel included), and a
   * forward without side effects for export.
   */
  forward(x: Tensor): Tensor {
    if (!this.training) return F.conv2d(x, this.realKernel(), null, { padding: this.padding });
    torch.noGrad(() => torch.tidy(() => this.kernel.copy_(this.normalisedKernel())));
    return F.conv2d(x, this.assemble(this.kernel), null, { padding: this.padding });
  }
}

function convBnRelu3(inChannels: number, outChannels: number): Sequential {
  return new Sequential(new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false }), new BatchNorm2d(outChannels), new ReLU());
}

class PositionAttention extends Module {
  readonly conv_b: Conv2d;
  readonly conv_c: Conv2d;
  readonly conv_d: Conv2d;
  readonly alpha: Parameter;
  constructor(channels: number) {
    super();
    this.conv_b = new Conv2d(channels, channels / 8, 1);
    this.conv_c = new Conv2d(channels, channels / 8, 1);
    this.conv_d = new Conv2d(channels, channels, 1);
    this.alpha = torch.tidy(() => new Parameter(torch.zeros([1])));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const fb = this.conv_b
      .forward(x)
      .reshape([B, C / 8, H * W])
      .permute([0, 2, 1]);
    const fc = this.conv_c.forward(x).reshape([B, C / 8, H * W]);
    const attention = fb.bmm(fc).softmax(-1);
    const fd = this.conv_d.forward(x).reshape([B, C, H * W]);
    return fd
      .bmm(attention.permute([0, 2, 1]))
      .reshape([B, C, H, W])
      .mul(this.alpha)
      .add(x);
  }
}

class ChannelAttention extends Module {
  readonly beta: Parameter;
  constructor() {
    super();
    this.beta = torch.tidy(() => new Parameter(torch.zeros([1])));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const fa = x.reshape([B, C, H * W]);
    const energy = fa.bmm(fa.permute([0, 2, 1]));
    const attention = energy.max(-1, true).values.sub(energy).softmax(-1);
    return attention.bmm(fa).reshape([B, C, H, W]).mul(this.beta).add(x);
  }
}

/** Dual-attention head (official `_DAHead`, aux off). */
export class DAHead extends Module {
  readonly conv_p1: Sequential;
  readonly conv_c1: Sequential;
  readonly pam: PositionAttention;
  readonly cam: ChannelAttention;
  readonly conv_p2: Sequential;
  readonly conv_c2: Sequential;
  readonly out: Sequential;
  constructor(inChannels: number, numClasses: number) {
    super();
    const inter = inChannels / 4;
    this.conv_p1 = convBnRelu3(inChannels, inter);
    this.conv_c1 = convBnRelu3(inChannels, inter);
    this.pam = new PositionAttention(inter);
    this.cam = new ChannelAttention();
    this.conv_p2 = convBnRelu3(inter, inter);
    this.conv_c2 = convBnRelu3(inter, inter);
    this.out = new Sequential(new Dropout(0.1), new Conv2d(inter, numClasses, 1));
  }
  /** `tap` sees each step: `conv_p1`, `pam`, `conv_p2`, `conv_c1`, `cam`, `conv_c2`, `out`. */
  forward(x: Tensor, tap?: Tap): Tensor {
    const step = (name: string, m: TensorModule, input: Tensor) => {
      const y = m.forward(input);
      tap?.(name, y);
      return y;
    };
    const p = step('conv_p2', this.conv_p2, step('pam', this.pam, step('conv_p1', this.conv_p1, x)));
    const c = step('conv_c2', this.conv_c2, step('cam', this.cam, step('conv_c1', this.conv_c1, x)));
    return step('out', this.out, p.add(c));
  }
}

/** `rgb2gray` of the official code on its BGR input: 0.2989·R (channel 2) + 0.5870·G + 0.1140·B (channel 0). */
function rgb2gray(x: Tensor): Tensor {
  return x.select(1, 2).mul(0.2989).add(x.select(1, 1).mul(0.587)).add(x.select(1, 0).mul(0.114)).unsqueeze(1);
}

/**
 * Edge ground truth from our mask, at the edge map's size: the morphological gradient
 * (dilation − erosion, a (2w+1)² square) of the fake region after nearest down-sampling, as
 * MVSS-Net derives its edge labels from the mask boundary; ignored pixels count as real.
 */
export function edgeTarget(segmentation: Tensor, size: readonly [number, number], halfWidth = 1): Tensor {
  const fake = F.interpolate(segmentation.eq(1).float().unsqueeze(1), { size: [size[0], size[1]], mode: 'nearest' });
  const k = 2 * halfWidth + 1;
  const dilated = F.maxPool2d(fake, { kernelSize: k, stride: 1, padding: halfWidth });
  const eroded = F.maxPool2d(fake.neg(), { kernelSize: k, stride: 1, padding: halfWidth }).neg();
  return dilated.sub(eroded);
}

/** Soft Dice loss 1 − 2Σpt / (Σp² + Σt²) over the batch (MVSS-Net's l_seg and l_edg). */
export function diceLoss(probabilities: Tensor, target: Tensor, smooth = 1e-6): Tensor {
  const inter = probabilities.mul(target).sum();
  const denom = probabilities.pow(2).sum().add(target.pow(2).sum()).add(smooth);
  return inter.mul(2).add(smooth).div(denom).neg().add(1);
}

/**
 * MVSS-Net with the MSCCNet paper's adaptation (§5.1.3): an image head on the backbone output
 * (`image_head.fc`, the only key the official checkpoints lack) and the one-channel sigmoid mask
 * as two-class logits [0, z] (method.ts). Keys otherwise equal the official state dict.
 */
export class MVSSNet extends Module implements MethodModel<MvssOutputs> {
  readonly methodName = 'mvss' as const;
  readonly model: MvssResNet50;
  readonly erb_db_1: ERB;
  readonly erb_db_2: ERB;
  readonly erb_db_3: ERB;
  readonly erb_db_4: ERB;
  readonly erb_trans_1: ERB;
  readonly erb_trans_2: ERB;
  readonly erb_trans_3: ERB;
  readonly sobel_x1: Sequential | null;
  readonly sobel_y1: Sequential | null;
  readonly sobel_x2: Sequential | null;
  readonly sobel_y2: Sequential | null;
  readonly sobel_x3: Sequential | null;
  readonly sobel_y3: Sequential | null;
  readonly sobel_x4: Sequential | null;
  readonly sobel_y4: Sequential | null;
  readonly noise_extractor: ({ model: MvssResNet50 } & Module) | null;
  readonly constrain_conv: BayarConv2d | null;
  readonly head: DAHead;
  readonly image_head: ImageHead;
  readonly config: MvssConfig;

  constructor(input: unknown = {}) {
    super();
    const config = parseMethodConfig('mvss', MvssConfigSchema, input);
    this.config = config;
    this.model = new MvssResNet50();
    const nclass = 1;
    this.erb_db_1 = new ERB(256, nclass);
    this.erb_db_2 = new ERB(512, nclass);
    this.erb_db_3 = new ERB(1024, nclass);
    this.erb_db_4 = new ERB(2048, nclass);
    this.erb_trans_1 = new ERB(nclass, nclass);
    this.erb_trans_2 = new ERB(nclass, nclass);
    this.erb_trans_3 = new ERB(nclass, nclass);
    const sobel = (c: number) => (config.sobel ? sobelPair(c) : ([null, null] as const));
    [this.sobel_x1, this.sobel_y1] = sobel(256);
    [this.sobel_x2, this.sobel_y2] = sobel(512);
    [this.sobel_x3, this.sobel_y3] = sobel(1024);
    [this.sobel_x4, this.sobel_y4] = sobel(2048);
    this.noise_extractor = config.constrain ? new NoiseExtractor() : null;
    this.constrain_conv = config.constrain ? new BayarConv2d(1, 3, 5, 2) : null;
    this.head = new DAHead(config.constrain ? 4096 : 2048, nclass);
    this.image_head = new ImageHead(2048);
  }

  /**
   * The official inference (`inference.py`, `common/transforms.py`): cv2.imread's BGR planes,
   * resized to 512², normalised with the ImageNet mean/std listed in RGB order but applied to
   * B, G, R as they come (and `rgb2gray` reads channel 0 as blue accordingly).
   */
  get preprocessing(): Preprocessing {
    return { ...IMAGENET_NORMALIZE, channelOrder: 'bgr', inputSize: this.config.inputSize };
  }

  /**
   * `tap` sees the official intermediates under the parity fixture's names: `stem`, `c1` … `c4`,
   * `run_sobel_k`, `erb_db_k`, `erb_trans_1/2`, `rgb2gray`, `constrain_conv`,
   * `constrain_features.0…3`, `head.<step>`, and `x0` (the mask logit at the input size).
   */
  forward(x: Tensor, tap?: Tap): MvssOutputs {
    const [, , H, W] = x.shape;
    const [c1, c2, c3, c4] = this.model.forward(x, tap);
    const up = (t: Tensor, s: number) => F.interpolate(t, { scaleFactor: s, mode: 'bilinear', alignCorners: true });
    const sobels = [
      [this.sobel_x1, this.sobel_y1],
      [this.sobel_x2, this.sobel_y2],
      [this.sobel_x3, this.sobel_y3],
      [this.sobel_x4, this.sobel_y4],
    ] as const;
    const erbs = [this.erb_db_1, this.erb_db_2, this.erb_db_3, this.erb_db_4];
    const edge = (k: number, c: Tensor) => {
      const [sx, sy] = sobels[k];
      const gated = sx !== null && sy !== null ? runSobel(sx, sy, c) : c;
      tap?.(`run_sobel_${k + 1}`, gated);
      const out = erbs[k].forward(gated);
      tap?.(`erb_db_${k + 1}`, out);
      return out;
    };
    let res = edge(0, c1);
    res = this.erb_trans_1.forward(res.add(up(edge(1, c2), 2)));
    tap?.('erb_trans_1', res);
    res = this.erb_trans_2.forward(res.add(up(edge(2, c3), 4)));
    tap?.('erb_trans_2', res);
    const edgeLogits = this.erb_trans_3.forward(res.add(up(edge(3, c4), 4)), false);
    let fused = c4;
    if (this.constrain_conv !== null && this.noise_extractor !== null) {
      const gray = rgb2gray(x);
      tap?.('rgb2gray', gray);
      const constrained = this.constrain_conv.forward(gray);
      tap?.('constrain_conv', constrained);
      const noise = this.noise_extractor.model.forward(
        constrained,
        (name, t) => /^c\d$/.test(name) && tap?.(`constrain_features.${Number(name[1]) - 1}`, t),
      )[3];
      fused = torch.cat([c4, noise], 1);
    }
    const z = F.interpolate(
      this.head.forward(fused, (name, t) => tap?.(`head.${name}`, t)),
      { size: [H, W], mode: 'bilinear', alignCorners: true },
    );
    tap?.('x0', z);
    return { imgLogits: this.image_head.forward(c4), maskLogits: sigmoidAsTwoClass(z), edgeLogits };
  }

  /**
   * The paper's loss: α·Dice(σ mask, fake) + β·CE(image) + (1 − α − β)·Dice(σ edge, mask
   * boundary); ignored pixels are left out of the segmentation Dice.
   */
  losses(outputs: MvssOutputs, targets: MethodTargets): NamedLosses {
    const { alpha, beta, edgeWidth } = this.config;
    const [, , h, w] = outputs.edgeLogits.shape;
    const [, H, W] = targets.segmentation.shape;
    const z = F.interpolate(outputs.maskLogits.narrow(1, 1, 1), { size: [H, W], mode: 'bilinear', alignCorners: true });
    const valid = targets.segmentation.ne(255).float().unsqueeze(1);
    const seg = diceLoss(z.sigmoid().mul(valid), targets.segmentation.eq(1).float().unsqueeze(1));
    const cls = F.crossEntropy(outputs.imgLogits, targets.label.long());
    const edge = diceLoss(outputs.edgeLogits.sigmoid(), edgeTarget(targets.segmentation, [h, w], edgeWidth));
    return {
      seg,
      cls,
      edge,
      total: seg
        .mul(alpha)
        .add(cls.mul(beta))
        .add(edge.mul(1 - alpha - beta)),
    };
  }
}

/** The official `noise_extractor = ResNet50(...)`: its ResNet sits under `model`. */
class NoiseExtractor extends Module {
  readonly model = new MvssResNet50();
}
