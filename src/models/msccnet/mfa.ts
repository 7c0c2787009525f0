import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, ReLU, Sequential } from '../../nn/index.js';
import type { Tap } from '../backbones/resnet.js';

/** conv(k×k, no bias) + BN + ReLU, the official `bottleneck*` block (keys `.0` conv, `.1` BN). */
export function convBnRelu(inChannels: number, outChannels: number, kernel: 1 | 3): Sequential {
  return new Sequential(
    new Conv2d(inChannels, outChannels, kernel, { stride: 1, padding: (kernel - 1) / 2, bias: false }),
    new BatchNorm2d(outChannels),
    new ReLU(),
  );
}

/** The MFA's modules; they sit at the top of the official state dict (`bottleneck1`, …). */
export interface AggregationParts {
  readonly bottleneck1: Sequential | null;
  readonly bottleneck2: Sequential | null;
  readonly bottleneck3: Sequential;
  readonly bottleneck_fusion: Sequential | null; // sic: official key
}

/**
 * MFA (official-spec §4): x1, x2, x3 = bottleneck1/2/3(C2, C3, C4), then
 * F_A = bottleneck_fusion(cat[x1, x2, x3]). With the os8 backbone all three are already 1/8;
 * only at os16 does x1 need the paper's "Downsample" to C4's size (bilinear at exactly 2× is a
 * 2×2 mean). Without MFA (`mfa: false`), F_A = bottleneck3(C4).
 */
export function multiLevelAggregation(parts: AggregationParts, stages: readonly [Tensor, Tensor, Tensor, Tensor], tap?: Tap): Tensor {
  const [, c2, c3, c4] = stages;
  const x3 = parts.bottleneck3.forward(c4);
  if (parts.bottleneck1 === null || parts.bottleneck2 === null || parts.bottleneck_fusion === null) return x3;
  const size: [number, number] = [x3.shape[2], x3.shape[3]];
  const align = (t: Tensor): Tensor =>
    t.shape[2] === size[0] && t.shape[3] === size[1] ? t : F.interpolate(t, { size, mode: 'bilinear', alignCorners: false });
  const x1 = align(parts.bottleneck1.forward(c2));
  const x2 = align(parts.bottleneck2.forward(c3));
  tap?.('mfa.x1', x1);
  tap?.('mfa.x2', x2);
  tap?.('mfa.x3', x3);
  return parts.bottleneck_fusion.forward(torch.cat([x1, x2, x3], 1));
}
