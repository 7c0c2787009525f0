import { F, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Dropout2d, Linear, Module, ReLU, Sequential } from '../../nn/index.js';
import { InputSizeError } from '../errors.js';
import { ResNet, type Tap } from '../backbones/resnet.js';
import { parseMsccnetConfig, spectralSide, type MsccnetConfig, type MsccnetConfigInput } from './config.js';
import { convBnRelu, multiLevelAggregation } from './mfa.js';
import { MSCC } from './mscc.js';

/** Image-level head (Eq. 3; official `Classifier`): global mean of C4, then Linear(→ K), raw logits. */
export class Classifier extends Module {
  readonly fc: Linear;
  constructor(inChannels: number, numClasses: number) {
    super();
    this.fc = new Linear(inChannels, numClasses, { bias: true });
  }
  forward(c4: Tensor): Tensor {
    const [B, C] = c4.shape;
    return this.fc.forward(F.adaptiveAvgPool2d(c4, [1, 1]).reshape([B, C]));
  }
}

/** What one forward pass returns, in train and eval mode alike. */
export interface MsccnetOutputs {
  /** [B, K] image logits, class 1 = fake */
  imgLogits: Tensor;
  /** [B, K, S, S] mask logits at 1/8 (up-sampling happens outside the model, official-spec §6) */
  maskLogits: Tensor;
  /** [B, K, S, S] the MSCC auxiliary map `fres_map_output` (Eq. 15); null without MSCC */
  auxMap: Tensor | null;
}

/**
 * MSCCNet (paper Fig. 2). Field names are the official state-dict keys, so a converted official
 * checkpoint loads with `strict`. Train mode only changes BN and dropout; the official 3-term
 * loss is `msccnetLosses` (losses.ts).
 */
export class MSCCNet extends Module {
  readonly backbone_net: ResNet; // sic: official key
  readonly classifer: Classifier; // sic: official key
  readonly bottleneck1: Sequential | null;
  readonly bottleneck2: Sequential | null;
  readonly bottleneck3: Sequential;
  readonly mscc: MSCC | null;
  readonly bottleneck_fusion: Sequential | null; // sic: official key
  readonly decoder: Sequential;
  readonly config: MsccnetConfig;
  /** S, the side of the stride-os map the DCT filters are built for */
  readonly spectralSide: number;

  constructor(input: MsccnetConfigInput = {}) {
    super();
    const config = parseMsccnetConfig(input);
    this.config = config;
    this.spectralSide = spectralSide(config);
    const C = config.featsChannels;
    const K = config.numClasses;
    this.backbone_net = new ResNet({
      depth: config.backboneDepth,
      outputStride: config.outputStride,
      baseChannels: config.baseChannels,
      stemChannels: config.stemChannels,
      useStem: config.useStem,
    });
    const [, ch2, ch3, ch4] = this.backbone_net.stageChannels;
    this.classifer = new Classifier(ch4, K);
    this.bottleneck1 = config.mfa ? convBnRelu(ch2, C, 3) : null;
    this.bottleneck2 = config.mfa ? convBnRelu(ch3, C, 3) : null;
    this.bottleneck3 = convBnRelu(ch4, C, 3);
    this.mscc = config.mscc
      ? new MSCC({
          numClasses: K,
          featsChannels: C,
          outChannels: config.outChannels,
          groups: config.groups,
          spectralSide: this.spectralSide,
          dct: config.dct,
          gcn: config.gcn,
          fusion: config.fusion,
          dropout: config.dropout,
        })
      : null;
    this.bottleneck_fusion = config.mfa ? convBnRelu(3 * C, C, 3) : null;
    const D = config.outChannels; // official: the decoder reads F_M, out_channels wide
    this.decoder = new Sequential(
      new Conv2d(D, D, 1, { bias: false }),
      new BatchNorm2d(D),
      new ReLU(),
      new Dropout2d(config.dropout),
      new Conv2d(D, K, 1, { bias: true }),
    );
  }

  /**
   * x [B, 3, H, W] (normalised RGB) → logits. `tap` sees the intermediate tensors under the
   * fixture's stage names (`backbone.layer4`, `mfa.fused`, `mscc.class_centers`, …).
   */
  forward(x: Tensor, tap?: Tap): MsccnetOutputs {
    this.checkInput(x);
    const stages = this.backbone_net.forward(x, tap && ((name, value) => tap(`backbone.${name}`, value)));
    const imgLogits = this.classifer.forward(stages[3]);
    const aggregated = multiLevelAggregation(this, stages, tap); // F_A
    tap?.('mfa.fused', aggregated);
    const mscc = this.mscc?.forward(aggregated, tap) ?? null;
    const maskLogits = this.decoder.forward(mscc?.out ?? aggregated);
    tap?.('mask_logits', maskLogits);
    tap?.('img_logits', imgLogits);
    return { imgLogits, maskLogits, auxMap: mscc?.auxMap ?? null };
  }

  /** The DCT filters only fit inputs whose stride-os map is S×S (official-spec §5.1). */
  private checkInput(x: Tensor): void {
    const shape = x.shape;
    const os = this.config.outputStride;
    const sized =
      this.mscc === null || this.mscc.frequency === null || (Math.ceil(shape[2] / os) === this.spectralSide && Math.ceil(shape[3] / os) === this.spectralSide);
    const fits = shape.length === 4 && shape[1] === 3 && sized;
    if (!fits) throw new InputSizeError(shape, this.spectralSide, os);
  }
}
