import type { Tensor } from '../../torch/index.js';
import { torch } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Dropout2d, Module, ReLU, Sequential } from '../../nn/index.js';
import type { Tap } from '../backbones/resnet.js';
import { MultiSpectralDCTLayer, type DctBases } from './dct.js';
import { GCN } from './gcn.js';
import { convBnRelu } from './mfa.js';

export interface MsccOptions {
  /** K */
  numClasses: number;
  /** C, channels of F_A */
  featsChannels: number;
  /** channels of F_M */
  outChannels: number;
  /** N = n groups of c = C/n channels */
  groups: number;
  /** S, side of the stride-8 map and of the DCT filters */
  spectralSide: number;
  dct: DctBases | 'none';
  gcn: boolean;
  fusion: 'concat' | 'add';
  dropout: number;
}

/** [B, C, H, W] → [B, n, c, P]: group g holds channels g·c … g·c + c − 1 (official `channel_split`). */
function groupsOf(x: Tensor, n: number): Tensor {
  const [B, C, H, W] = x.shape;
  return x.reshape([B, n, C / n, H * W]);
}

/**
 * Multi-spectral class centres (paper §3.3, Eq. 6–15; official `MSCC`, official-spec §5.2).
 * Returns F_M and the fused auxiliary map (Eq. 15, used only by L_mscc).
 */
export class MSCC extends Module {
  readonly frequency: MultiSpectralDCTLayer | null;
  readonly bottleneck: Sequential;
  readonly decoder_map: Sequential; // sic: official key (the C₃ head of Eq. 9)
  readonly fuse: Conv2d;
  readonly gcn: GCN | null;
  readonly numClasses: number;
  readonly groups: number;
  readonly spectralSide: number;
  readonly fusion: 'concat' | 'add';

  constructor(o: MsccOptions) {
    super();
    const c = o.featsChannels / o.groups;
    this.numClasses = o.numClasses;
    this.groups = o.groups;
    this.spectralSide = o.spectralSide;
    this.fusion = o.fusion;
    this.frequency = o.dct === 'none' ? null : new MultiSpectralDCTLayer(o.featsChannels, o.spectralSide, o.dct, o.groups);
    this.bottleneck = convBnRelu(o.fusion === 'concat' ? 2 * o.featsChannels : o.featsChannels, o.outChannels, 3);
    this.decoder_map = new Sequential(
      // one head shared by the n groups
      new Conv2d(c, c, 1, { bias: false }),
      new BatchNorm2d(c),
      new ReLU(),
      new Dropout2d(o.dropout),
      new Conv2d(c, o.numClasses, 1, { bias: true }),
    );
    this.fuse = new Conv2d(o.groups, 1, 1, { bias: true });
    this.gcn = o.gcn ? new GCN(o.groups, c) : null;
  }

  /** F_A [B, C, H, W] → { out: F_M [B, C_out, H, W], auxMap [B, K, H, W] }. */
  forward(aggregated: Tensor, tap?: Tap): { out: Tensor; auxMap: Tensor } {
    const [B, C, H, W] = aggregated.shape;
    const n = this.groups;
    const c = C / n;
    const K = this.numClasses;
    const P = H * W;
    const spectralFeatures = this.frequency?.forward(aggregated) ?? aggregated; // Eq. 6–8: F_A ⊙ DCT (no sum, §12.2)
    tap?.('mscc.fres', spectralFeatures);
    const coarseMasks = this.decoder_map.forward(spectralFeatures.reshape([B * n, c, H, W])); // Eq. 9  [B·n, K, H, W] logits
    tap?.('mscc.fres_map', coarseMasks);
    const groupMasks = coarseMasks.reshape([B, n, K, P]); // [B, n, K, P]
    const auxMap = this.fuse.forward(groupMasks).reshape([B, K, H, W]); // Eq. 15  1×1 conv over the n groups
    tap?.('mscc.fres_map_output', auxMap);
    const spectralGroups = groupsOf(spectralFeatures, n).transpose(2, 3); // [B, n, P, c]
    const classCenters = groupMasks.matmul(spectralGroups); // Eq. 10  [B, n, K, c]; raw logits (§12.4)
    tap?.('mscc.class_centers', classCenters);
    const refinedCenters = this.gcn?.forward(classCenters) ?? classCenters; // Eq. 11  [B, n, K, c]
    tap?.('mscc.class_centers_gcn', refinedCenters);
    const featureGroups = groupsOf(aggregated, n).transpose(2, 3); // [B, n, P, c], un-modulated F_A
    const classAttention = featureGroups.matmul(refinedCenters.transpose(2, 3)).softmax(-1); // Eq. 12  [B, n, P, K], softmax over K
    tap?.('mscc.softmax_weights', classAttention);
    const weighted = classAttention
      .matmul(refinedCenters) // Eq. 13  [B, n, P, c]
      .transpose(2, 3)
      .reshape([B, C, H, W]); // channel = g·c + ch
    tap?.('mscc.attention_out', weighted);
    const out = this.bottleneck.forward(
      this.fusion === 'concat' // Eq. 14
        ? torch.cat([aggregated, weighted], 1)
        : aggregated.add(weighted),
    );
    tap?.('mscc.out', out);
    return { out, auxMap };
  }
}
