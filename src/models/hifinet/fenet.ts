import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Buffer, Conv2d, Dropout, Module, Parameter, ReLU, Sequential } from '../../nn/index.js';
import { HighResolutionTrunk, applyTransition, type HrnetOptions } from '../backbones/hrnet.js';
import type { Tap } from '../backbones/resnet.js';

/**
 * HiFi-Net's FENet (`CHELSEA234/HiFi_IFDL` `models/seg_hrnet.py` `HighResolutionNet` with
 * `seg_hrnet_config.py`): a stride-1 HRNet-W18-small-v2 whose RGB stem runs beside a frequency
 * stem (`conv1fre` → `LaPlacianMs` → `conv2fre`), merged by a grouped 1×1 conv. The four outputs
 * sit at strides 1, 2, 4, 8.
 */

/** `seg_hrnet_config.py`: stage 1 two Bottlenecks, stages 2–4 one module of 4 branches with 2 BasicBlocks each. */
export const FENET_HRNET: HrnetOptions = {
  stemStride: 1,
  fuseAlignCorners: true,
  stage1: { numModules: 1, block: 'BOTTLENECK', numBlocks: [2], numChannels: [64] },
  stage2: { numModules: 1, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
  stage3: { numModules: 1, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
  stage4: { numModules: 1, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
};

/** The Laplacian pyramid's Gaussian scales σ (`LaPlacianMs(in_c=64, gauss_ker_size=3, scale=[2, 4, 8])`). */
export const LAPLACIAN_SCALES = [2, 4, 8] as const;

/**
 * `GaussianSmoothing(channels, 3, σ)`: a fixed depthwise 3×3 Gaussian, no padding. The kernel is
 * built with float32 tensor ops in the official order (g(i)·g(j), then divided by its sum), so
 * it equals the official buffer bit for bit.
 */
export class GaussianSmoothing extends Module {
  readonly weight: Buffer;
  constructor(
    readonly channels: number,
    sigma: number,
  ) {
    super();
    this.weight = torch.tidy(() =>
      torch.noGrad(() => {
        const g = torch
          .tensor([0, 1, 2], [3])
          .sub(1)
          .div(sigma)
          .pow(2)
          .neg()
          .div(2)
          .exp()
          .mul(1 / (sigma * Math.sqrt(2 * Math.PI)));
        const k = g.reshape(3, 1).expand(3, 3).mul(g.reshape(1, 3).expand(3, 3));
        return new Buffer(k.div(k.sum()).reshape(1, 1, 3, 3).expand(channels, 1, 3, 3).contiguous());
      }),
    );
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, null, { groups: this.channels });
  }
}

/** `LaPlacianMs.smoothing`, an nn.ModuleDict keyed `scale-2`, `scale-4`, `scale-8`. */
class SmoothingDict extends Module {
  constructor(channels: number, scales: readonly number[]) {
    super();
    for (const s of scales) Object.defineProperty(this, `scale-${s}`, { value: new GaussianSmoothing(channels, s), enumerable: true });
  }
  at(scale: number): GaussianSmoothing {
    return (this as unknown as Record<string, GaussianSmoothing>)[`scale-${scale}`];
  }
}

/**
 * `LaPlacianMs`: for each σ, x minus its blurred copy taken down by 1/σ and back up (bilinear,
 * align_corners False), the residuals concatenated and merged by 1×1 conv + BN + ReLU + Dropout.
 * The way down passes a scale factor, so coordinates map by σ, not by the size ratio (README of
 * baseline-parity/hifinet, §1).
 */
export class LaPlacianMs extends Module {
  readonly smoothing: SmoothingDict;
  readonly conv_1x1: Sequential;
  constructor(
    channels: number,
    readonly scales: readonly number[] = LAPLACIAN_SCALES,
  ) {
    super();
    this.smoothing = new SmoothingDict(channels, scales);
    this.conv_1x1 = new Sequential(new Conv2d(channels * scales.length, channels, 1, { bias: false }), new BatchNorm2d(channels), new ReLU(), new Dropout(0.2));
  }
  forward(x: Tensor): Tensor {
    const [, , h, w] = x.shape;
    const diffs = this.scales.map((s) => {
      const down = F.interpolate(this.smoothing.at(s).forward(x), { scaleFactor: 1 / s, mode: 'bilinear', alignCorners: false });
      return x.sub(F.interpolate(down, { size: [h, w], mode: 'bilinear', alignCorners: false }));
    });
    return this.conv_1x1.forward(torch.cat(diffs, 1));
  }
}

/** The frequency-stem fields, which the official class declares between `bn2` and `layer1`. */
const FREQUENCY_STEM = ['conv1fre', 'bn1fre', 'conv2fre', 'bn2fre', 'laplacian', 'conv_1x1_merge'];

/** FENet with the official state-dict keys (`conv1` … `bn2`, `conv1fre` … `conv_1x1_merge`, `layer1` … `stage4`). */
export class FENet extends HighResolutionTrunk {
  readonly conv1fre: Conv2d;
  readonly bn1fre: BatchNorm2d;
  readonly conv2fre: Conv2d;
  readonly bn2fre: BatchNorm2d;
  readonly laplacian: LaPlacianMs;
  readonly conv_1x1_merge: Sequential;

  constructor() {
    super(FENET_HRNET);
    const norm = { momentum: 0.01 }; // BN_MOMENTUM; the Laplacian's and the merge's BatchNorms keep PyTorch's 0.1
    this.conv1fre = new Conv2d(3, 64, 3, { padding: 1, bias: false });
    this.bn1fre = new BatchNorm2d(64, norm);
    this.conv2fre = new Conv2d(64, 64, 3, { padding: 1, bias: false });
    this.bn2fre = new BatchNorm2d(64, norm);
    this.laplacian = new LaPlacianMs(64);
    this.conv_1x1_merge = new Sequential(new Conv2d(128, 64, 1, { bias: false, groups: 2 }), new BatchNorm2d(64), new ReLU(), new Dropout(0.2));
  }

  /** The official field order: the frequency stem after `bn2` (the trunk's fields come first in construction). */
  protected override entries(): [string, Parameter | Buffer | Module][] {
    const all = super.entries();
    const freq = all.filter(([k]) => FREQUENCY_STEM.includes(k));
    const rest = all.filter(([k]) => !FREQUENCY_STEM.includes(k));
    const at = rest.findIndex(([k]) => k === 'bn2') + 1;
    return [...rest.slice(0, at), ...freq, ...rest.slice(at)];
  }

  /** `HighResolutionNet.forward`: the four stage-4 branches; taps the parity fixture's names. */
  forward(x: Tensor, tap?: Tap): Tensor[] {
    const merged = torch.tidy(() => {
      const lap = this.laplacian.forward(this.bn1fre.forward(this.conv1fre.forward(x)).relu());
      tap?.('FENet.laplacian', lap);
      const fre = this.bn2fre.forward(this.conv2fre.forward(lap)).relu();
      const rgb = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu())).relu();
      return this.conv_1x1_merge.forward(torch.cat([rgb, fre], 1));
    });
    tap?.('FENet.conv_1x1_merge', merged);
    const l1 = this.layer1.forward(merged);
    tap?.('FENet.layer1', l1);
    const s2 = this.stage2.forward(applyTransition(this.transition1, [l1]));
    const s3 = this.stage3.forward(applyTransition(this.transition2, s2));
    const out = this.stage4.forward(applyTransition(this.transition3, s3));
    out.forEach((t, i) => tap?.(`output.${i}`, t));
    return out;
  }
}
