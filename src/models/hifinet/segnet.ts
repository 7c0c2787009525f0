import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, Linear, Module, Parameter, ReLU, Sequential } from '../../nn/index.js';
import type { Tap } from '../backbones/resnet.js';

/**
 * HiFi-Net's localization SegNet, `models/NLCDetection_loc.py` `NLCDetection` of
 * `CHELSEA234/HiFi_IFDL`: FENet's four features resized to the fixed crop, an FPN, the non-local
 * mask head with its partial convolutions, and the 4-level classification hierarchy in which each
 * finer level's logits are rescaled by its parents' probabilities.
 */

/** FENet's stage-4 widths (`seg_hrnet_config.py` STAGE4 NUM_CHANNELS), which fix SegNet's input widths. */
export const FENET_WIDTHS = [18, 36, 72, 144] as const;
/** Classes per level, coarse to fine: `cls_4` … `cls_1`; class 0 is "real" at every level. */
export const HIERARCHY_CLASSES = [3, 5, 7, 14] as const;
/**
 * The parent column of each class (the official `cls_prob_mask_3/2/1`), for levels 3, 2, 1.
 * Official quirk kept: level 1's columns 9–13 all read level-2 column 4 (`cls_prob_25/26` are
 * built from column 4), so level-2 columns 5 and 6 are never used.
 */
export const HIERARCHY_PARENT_COLUMNS: readonly (readonly number[])[] = [
  [0, 1, 1, 2, 2],
  [0, 1, 1, 2, 2, 3, 4],
  [0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4],
];

/** nn.Upsample(scale_factor=2), nearest. */
class Upsample2 extends Module {
  forward(x: Tensor): Tensor {
    return F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
  }
}

/**
 * `PartialConv` (stride 2, no padding): `input_conv` on the (already masked) input, renormalised
 * by the window sums of the mask (`mask_conv`, fixed all-ones weights, no grad); windows with no
 * mask are 0 and leave a 0 in the new mask.
 */
export class PartialConv extends Module {
  readonly input_conv: Conv2d;
  readonly mask_conv: Conv2d;
  constructor(inChannels: number, outChannels: number) {
    super();
    this.input_conv = new Conv2d(inChannels, outChannels, 3, { stride: 2 });
    const maskConv = new Conv2d(inChannels, outChannels, 3, { stride: 2, bias: false });
    torch.noGrad(() => maskConv.weight.fill_(1));
    maskConv.weight.requiresGrad = false;
    this.mask_conv = maskConv;
  }
  forward(x: Tensor, mask: Tensor): [Tensor, Tensor] {
    const out = this.input_conv.forward(x);
    const bias = this.input_conv.bias!.view(1, -1, 1, 1);
    const m = torch.noGrad(() => this.mask_conv.forward(mask));
    // window sums of 0 (holes): divide by 1, then zero; written with arithmetic so that the export holds no batch-sized constants
    const kept = m.ne(0).to(out.dtype);
    const renormalised = out
      .sub(bias)
      .div(m.add(kept.neg().add(1)))
      .add(bias);
    return [renormalised.mul(kept), kept];
  }
}

/** What `NonLocalMask.forward` returns, plus the mask logit (before its sigmoid) for the losses. */
export interface NonLocalMaskOutputs {
  /** [B, 1, S/8 − 1, …] the partial convolutions' output */
  pconv: Tensor;
  /** [B, 18, S, S] sigmoid(mask_feat): the deep-metric feature (`mask1_fea`) */
  maskFeature: Tensor;
  /** [B, 1, S, S] conv_2's output z, mask_binary = σ(z) */
  maskLogit: Tensor;
}

/**
 * `NonLocalMask(64, 4)`: a plain row-major reshape of [B, 64, S, S] to [B, 1024, S/4, S/4] (not a
 * pixel-unshuffle), non-local attention over the (S/4)² positions, the `W_s` residual scaled by
 * `gamma_s`, conv 3×3 → 18 (`mask_feat`), ReLU, conv 3×3 → 1, sigmoid; then three partial
 * convolutions of the image masked by it.
 */
export class NonLocalMask extends Module {
  readonly gamma_s: Parameter;
  readonly g: Conv2d;
  readonly theta: Conv2d;
  readonly phi: Conv2d;
  readonly W_s: Conv2d;
  readonly conv_1: Conv2d;
  readonly conv_2: Conv2d;
  readonly Pconv_1: PartialConv;
  readonly Pconv_2: PartialConv;
  readonly Pconv_3: PartialConv;
  constructor(
    readonly inChannels: number,
    readonly reduceScale: number,
  ) {
    super();
    const ic = inChannels * reduceScale * reduceScale;
    this.gamma_s = new Parameter(torch.ones([1]));
    this.g = new Conv2d(ic, ic, 1);
    this.theta = new Conv2d(ic, ic, 1);
    this.phi = new Conv2d(ic, ic, 1);
    this.W_s = new Conv2d(inChannels, inChannels, 1);
    this.conv_1 = new Conv2d(inChannels, 18, 3, { padding: 1 });
    this.conv_2 = new Conv2d(18, 1, 3, { padding: 1 });
    this.Pconv_1 = new PartialConv(3, 3);
    this.Pconv_2 = new PartialConv(3, 3);
    this.Pconv_3 = new PartialConv(3, 1);
  }
  forward(x: Tensor, img: Tensor, tap?: Tap): NonLocalMaskOutputs {
    const [b, c, h, w] = x.shape;
    const r = this.reduceScale;
    const ic = c * r * r;
    const y = torch.tidy(() => {
      const x1 = x.reshape(b, ic, h / r, w / r);
      const g = this.g.forward(x1).reshape(b, ic, -1).permute(0, 2, 1);
      const theta = this.theta.forward(x1).reshape(b, ic, -1).permute(0, 2, 1);
      const phi = this.phi.forward(x1).reshape(b, ic, -1);
      const attention = theta.matmul(phi).softmax(-1); // [b, (h/r)(w/r), (h/r)(w/r)]
      return attention.matmul(g).permute(0, 2, 1).contiguous().reshape(b, c, h, w);
    });
    const maskFeat = this.conv_1.forward(x.add(this.gamma_s.mul(this.W_s.forward(y))));
    tap?.('SegNet.getmask.conv_1', maskFeat);
    const maskLogit = this.conv_2.forward(maskFeat.relu());
    const maskTmp = maskLogit.sigmoid().expand(b, 3, h, w);
    let [p, m] = this.Pconv_1.forward(img.mul(maskTmp), maskTmp);
    [p, m] = this.Pconv_2.forward(p, m);
    [p] = this.Pconv_3.forward(p, m);
    tap?.('SegNet.getmask.Pconv_3', p);
    return { pconv: p, maskFeature: maskFeat.sigmoid(), maskLogit };
  }
}

/** `BranchCLS`: conv-ReLU-conv-ReLU to 18 channels, average pool, BatchNorm1d, Linear; `pro` keeps the positive LeakyReLU(0.2) logits, −9e15 elsewhere. */
export class BranchCLS extends Module {
  readonly fc: Linear;
  readonly bn: BatchNorm1d;
  readonly branch_cls: Sequential;
  constructor(inChannels: number, classes: number) {
    super();
    this.fc = new Linear(18, classes);
    this.bn = new BatchNorm1d(18);
    this.branch_cls = new Sequential(new Conv2d(inChannels, 32, 3, { padding: 1 }), new ReLU(), new Conv2d(32, 18, 3, { padding: 1 }), new ReLU());
  }
  forward(x: Tensor): { cls: Tensor; pro: Tensor } {
    const pooled = F.adaptiveAvgPool2d(this.branch_cls.forward(x), 1).flatten(1);
    const cls = this.fc.forward(this.bn.forward(pooled));
    const leaky = F.leakyRelu(cls, 0.2);
    return { cls, pro: torch.where(leaky.gt(0), leaky, leaky.mul(0).sub(9e15)) };
  }
}

const smooth = (inChannels: number, dim: number) => new Sequential(new Conv2d(inChannels, dim, 1), new Conv2d(dim, dim, 3, { padding: 1 }));
const fpnStep = (dim: number, up: boolean) => {
  const layers = [new Conv2d(dim, dim, 3, { padding: 1, bias: false }), new BatchNorm2d(dim), new ReLU()];
  return new Sequential(...(up ? [...layers, new Upsample2()] : layers));
};

/** `FPN_loc`: per level a 1×1 + 3×3 smoothing to `dim`, and conv-BN-ReLU (with a nearest ×2 upsampling below the finest level). */
export class FPN_loc extends Module {
  readonly smooth_s4: Sequential;
  readonly smooth_s3: Sequential;
  readonly smooth_s2: Sequential;
  readonly smooth_s1: Sequential;
  readonly fpn1: Sequential;
  readonly fpn2: Sequential;
  readonly fpn3: Sequential;
  readonly fpn4: Sequential;
  constructor(dim: number, widths: readonly number[]) {
    super();
    this.smooth_s4 = smooth(widths[3], dim);
    this.smooth_s3 = smooth(widths[2], dim);
    this.smooth_s2 = smooth(widths[1], dim);
    this.smooth_s1 = smooth(widths[0], dim);
    this.fpn1 = fpnStep(dim, false);
    this.fpn2 = fpnStep(dim, true);
    this.fpn3 = fpnStep(dim, true);
    this.fpn4 = fpnStep(dim, true);
  }
  forward([s1, s2, s3, s4]: readonly Tensor[]): Tensor {
    const f4 = this.fpn4.forward(this.smooth_s4.forward(s4));
    const f3 = this.fpn3.forward(this.smooth_s3.forward(s3).add(f4));
    const f2 = this.fpn2.forward(this.smooth_s2.forward(s2).add(f3));
    return this.fpn1.forward(this.smooth_s1.forward(s1).add(f2));
  }
}

/** NLCDetection's outputs (official names), plus the mask logit. */
export interface SegNetOutputs extends NonLocalMaskOutputs {
  /** [B, S, S] σ(maskLogit) */
  maskBinary: Tensor;
  /** [B, 3], [B, 5], [B, 7], [B, 14]: cls_4 … cls_1 after the parent rescaling */
  cls: [Tensor, Tensor, Tensor, Tensor];
}

const resize = (x: Tensor, size: number) =>
  x.shape[2] === size && x.shape[3] === size ? x : F.interpolate(x, { size: [size, size], mode: 'bilinear', alignCorners: true });
const upTo = (x: Tensor, like: Tensor) => F.interpolate(x, { size: [like.shape[2], like.shape[3]], mode: 'bilinear', alignCorners: true });
/** The parents' probability of each class: softmax(pro) at the official columns. */
const parentMask = (pro: Tensor, columns: readonly number[]) => {
  const p = pro.softmax(1);
  return torch.cat(
    columns.map((c) => p.narrow(1, c, 1)),
    1,
  );
};

/** `NLCDetection` (NLCDetection_loc.py) at crop side `cropSize` (official 256). */
export class NLCDetection extends Module {
  readonly getmask: NonLocalMask;
  readonly FPN_LOC: FPN_loc;
  readonly branch_cls_level_1: BranchCLS;
  readonly branch_cls_level_2: BranchCLS;
  readonly branch_cls_level_3: BranchCLS;
  readonly branch_cls_level_4: BranchCLS;
  constructor(readonly cropSize = 256) {
    super();
    const dim = 64;
    const [, w2, w3, w4] = FENET_WIDTHS;
    this.getmask = new NonLocalMask(dim, 4);
    this.FPN_LOC = new FPN_loc(dim, FENET_WIDTHS);
    this.branch_cls_level_1 = new BranchCLS(w4 + w3 + w2 + dim + 1, HIERARCHY_CLASSES[3]); // 317
    this.branch_cls_level_2 = new BranchCLS(w4 + w3 + w2, HIERARCHY_CLASSES[2]);
    this.branch_cls_level_3 = new BranchCLS(w4 + w3, HIERARCHY_CLASSES[1]);
    this.branch_cls_level_4 = new BranchCLS(w4, HIERARCHY_CLASSES[0]);
  }

  forward(feat: readonly Tensor[], image: Tensor, tap?: Tap): SegNetOutputs {
    const S = this.cropSize;
    const [s1, s2, s3, s4] = feat.map((t, i) => resize(t, S >> i));
    const img = resize(image, S);
    const fpn = this.FPN_LOC.forward([s1, s2, s3, s4]);
    tap?.('SegNet.FPN_LOC.fpn1', fpn);
    const mask = this.getmask.forward(fpn, img, tap);
    const pconv = F.interpolate(mask.pconv.detach(), { size: [S, S], mode: 'bilinear', alignCorners: true });

    const l4 = this.branch_cls_level_4.forward(s4);
    const in3 = torch.cat([upTo(s4, s3), s3], 1);
    const l3 = this.branch_cls_level_3.forward(in3);
    const in2 = torch.cat([upTo(in3, s2), s2], 1);
    const l2 = this.branch_cls_level_2.forward(in2);
    const l1 = this.branch_cls_level_1.forward(torch.cat([upTo(in2, fpn), fpn, pconv], 1));
    const [p3, p2, p1] = HIERARCHY_PARENT_COLUMNS;
    const rescale = (cls: Tensor, parent: Tensor) => cls.add(cls.mul(parent));
    return {
      ...mask,
      maskBinary: mask.maskLogit.sigmoid().squeeze(1),
      cls: [l4.cls, rescale(l3.cls, parentMask(l4.pro, p3)), rescale(l2.cls, parentMask(l3.pro, p2)), rescale(l1.cls, parentMask(l2.pro, p1))],
    };
  }
}
