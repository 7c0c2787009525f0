import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { Dropout, Linear, Module, Sequential } from '../../nn/index.js';
import { cubicResizeMatrix } from '../../image/index.js';
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
import { SeparableConv2d, Xception } from '../backbones/xception.js';

/**
 * SLADD's official defaults (liangchen527/SLADD `trainer/whole_model.py`, `dataprocess/FFdata.py`):
 * 256², cv2 INTER_CUBIC, Normalize(0.5, 0.5); AM-softmax (m 0.45, s 30) on the raw scores.
 */
export const SladdConfigSchema = z.strictObject({
  inputSize: z.number().int().min(64).default(256).describe('square input side (official res 256)'),
  margin: z.number().min(0).default(0.45).describe('AM-softmax additive cosine margin m (official AMSoftmaxLoss(m=0.45))'),
  scale: z.number().positive().default(30).describe('AM-softmax scale s (official s=30)'),
  mapWeight: z.number().min(0).default(0.1).describe('weight of MSE(map, mask16) (official 0.1)'),
  typeWeight: z.number().min(0).default(0.05).describe('weight of the AM-softmax forgery-type loss (official 0.05)'),
  magWeight: z.number().min(0).default(0.1).describe('weight of the magnitude MSE (official 0.1)'),
  pretrained: pretrainedField(
    "the official init is Cadene's ImageNet Xception (xception-b5690688.pth, from: cadene; pointwise weights unsqueezed, fc left out)",
  ),
  detectorAlone: z
    .boolean()
    .default(false)
    .describe(
      "false (official): the detector trains on the adversarial synthesizer's forgeries (68-point landmarks, needs face crops ≥ 128²) and the dataset's samples, REINFORCE trains the policy; true (simplification): the detector trains alone on the dataset's masks (map target = cv2 INTER_CUBIC 16² of the mask, type 3 real / 4 fake, no magnitude term)",
    ),
  maskOutput: z
    .literal('map-logit-bilinear')
    .default('map-logit-bilinear')
    .describe(
      "adaptation (MSCCNet §5.1.3): the mask is the stride-16 regression map's logit resampled bilinearly (align_corners false) to the input size; SLADD outputs only the 16² sigmoid map",
    ),
});
export type SladdConfig = z.output<typeof SladdConfigSchema>;

/** Real and fake images keep types 3 and 4 in the official type head (0–2: the synthesizer's blends). */
export const SLADD_TYPE_REAL = 3;
export const SLADD_TYPE_FAKE = 4;

export interface SladdOutputs extends MethodOutputs {
  /** [B, 2] `score`: the raw last_linear outputs, read as cosines by AM-softmax (= imgLogits) */
  score: Tensor;
  /** [B, 2048] pooled features `fea` */
  fea: Tensor;
  /** [B, 1, h, w] `map`: σ of the regression map at block7 (16² at 256²) */
  map: Tensor;
  /** [B, 5] forgery-type scores `type` */
  type: Tensor;
  /** [B, 1] blend magnitude `mag` */
  mag: Tensor;
}

/** ReLU, global average pool, flatten: the 2048-d `fea` the heads read (`classifier`). */
export function pooledFeatures(features: Tensor): Tensor {
  const [B, C] = features.shape;
  return F.adaptiveAvgPool2d(features.relu(), [1, 1]).reshape([B, C]);
}

/** `RegressionMap(728)`: SeparableConv 3×3 → 1 channel; σ is applied by the caller, which also needs the logit. */
export class RegressionMap extends Module {
  readonly c: SeparableConv2d;
  constructor(channels: number) {
    super();
    this.c = new SeparableConv2d(channels, 1, 3, 1, 1, false);
  }
  forward(x: Tensor): Tensor {
    return this.c.forward(x);
  }
}

/** The official `Xception` of `networks/xception.py` after `TransferModel` replaced `last_linear`: trunk + four heads. */
export class SladdXception extends Xception {
  readonly type_fc: Linear;
  readonly mag_fc: Linear;
  readonly map: RegressionMap;
  /** `TransferModel` deletes and re-adds it, so its keys come last */
  readonly last_linear: Sequential;
  constructor() {
    super();
    this.type_fc = new Linear(2048, 5);
    this.mag_fc = new Linear(2048, 1);
    this.map = new RegressionMap(728);
    this.last_linear = new Sequential(new Dropout(0.5), new Linear(2048, 2));
  }
}

/**
 * AM-softmax with a cosine margin on raw scores (`networks/am_softmax.py:AMSoftmaxLoss`, γ 0, t 1):
 * CE(s·(cos − m·onehot(target)), target). The official code does not normalise the scores.
 */
export function amSoftmaxLoss(cos: Tensor, target: Tensor, m: number, s: number): Tensor {
  const [B, C] = cos.shape;
  const labels = target.toArray();
  const onehot = new Float32Array(B * C);
  labels.forEach((t, i) => (onehot[i * C + t] = 1));
  const margin = torch.tensor(onehot, [B, C]).mul(m);
  return F.crossEntropy(cos.sub(margin).mul(s), target.long());
}

/**
 * The official 16² map target, `cv2.resize(mask, (w, h), INTER_CUBIC)` of the float mask (fake = 1;
 * ignored pixels count as real): W_h · M · W_wᵀ with OpenCV's cubic taps.
 */
export function mapTarget(segmentation: Tensor, size: readonly [number, number]): Tensor {
  const [B, H, W] = segmentation.shape;
  const rows = torch.tensor(cubicResizeMatrix(H, size[0]), [size[0], H]);
  const cols = torch.tensor(cubicResizeMatrix(W, size[1]), [size[1], W]);
  const fake = segmentation.eq(1).float();
  return rows
    .expand([B, size[0], H])
    .bmm(fake)
    .bmm(cols.transpose(0, 1).expand([B, W, size[1]]))
    .unsqueeze(1);
}

/**
 * SLADD's detector (Chen et al., CVPR 2022, "Self-supervised learning of adversarial example"):
 * `TransferModel('xception', dropout=0.5, return_fea=True)`, Cadene's Xception with a 2-way
 * score, a 5-way forgery-type head, a magnitude head and a stride-16 regression map on block7.
 * State-dict keys are the official ones (`model.` prefix). The image logits are the score, whose
 * softmax is the official test score; the mask is the map's logit resampled to the input.
 */
export class SLADD extends Module implements MethodModel<SladdOutputs> {
  readonly methodName = 'sladd' as const;
  readonly model: SladdXception;
  readonly config: SladdConfig;

  constructor(input: unknown = {}) {
    super();
    this.config = parseMethodConfig('sladd', SladdConfigSchema, input);
    this.model = new SladdXception();
  }

  get preprocessing(): Preprocessing {
    return { channelOrder: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], inputSize: this.config.inputSize, resize: 'cv2-cubic' };
  }

  forward(x: Tensor): SladdOutputs {
    const m = this.model;
    let block7: Tensor | null = null; // fea_part3's output, the map's input
    const features = m.features(x, { atBlock7: (h) => (block7 = h) });
    const fea = pooledFeatures(features); // classifier(): fea_part4–5, ReLU, pool
    const score = m.last_linear.forward(fea);
    const mapLogit = m.map.forward(block7!);
    const [, , H, W] = x.shape;
    const maskLogit = F.interpolate(mapLogit, { size: [H, W], mode: 'bilinear', alignCorners: false });
    return {
      imgLogits: score,
      maskLogits: sigmoidAsTwoClass(maskLogit),
      score,
      fea,
      map: mapLogit.sigmoid(),
      type: m.type_fc.forward(fea),
      mag: m.mag_fc.forward(fea),
    };
  }

  /**
   * `Model.optimize`'s loss on the dataset's images (config `detectorAlone`): type 3 real / 4 fake,
   * the map target the cubic 16² of the dataset mask, and a zero magnitude mask (the magnitude is
   * supervised only on the synthesizer's type-2 blends, which this data has none of).
   */
  losses(outputs: SladdOutputs, targets: MethodTargets): NamedLosses {
    const [B] = targets.label.shape;
    const label = targets.label.long();
    const [, , h, w] = outputs.map.shape;
    return sladdLosses(
      outputs,
      {
        label,
        typeLabel: label.mul(SLADD_TYPE_FAKE - SLADD_TYPE_REAL).add(SLADD_TYPE_REAL),
        mask16: mapTarget(targets.segmentation, [h, w]),
        magLabel: torch.zeros([B]),
        magMask: torch.zeros([B]),
      },
      this.config,
    );
  }
}

/** What `Model.optimize` supervises, per image: from the synthesizer, or from the dataset (`SLADD.losses`). */
export interface SladdTargets {
  /** [B] int64, 1 = fake */
  label: Tensor;
  /** [B] int64: 0–2 the synthesizer's blend type, 3 real, 4 fake from the data */
  typeLabel: Tensor;
  /** [B, 1, h, w] the map target in [0, 1] */
  mask16: Tensor;
  /** [B] the synthesizer's magnitude action */
  magLabel: Tensor;
  /** [B] 1 where the magnitude is supervised (type-2 blends), else 0 */
  magMask: Tensor;
}

/**
 * The official loss, term by term: `cls` + mapWeight·`map` + typeWeight·`type` + magWeight·`mag`.
 * `mag` keeps the official shapes: mag [B, 1] × magMask [B] broadcasts to [B, B] against
 * magLabel·magMask [B], and MSELoss averages the B² differences.
 */
export function sladdLosses(outputs: SladdOutputs, t: SladdTargets, config: SladdConfig): NamedLosses {
  const { margin, scale } = config;
  const cls = amSoftmaxLoss(outputs.score, t.label, margin, scale);
  const map = outputs.map.sub(t.mask16).pow(2).mean();
  const type = amSoftmaxLoss(outputs.type, t.typeLabel, margin, scale);
  const mag = outputs.mag.mul(t.magMask).sub(t.magLabel.mul(t.magMask)).pow(2).mean();
  const total = cls.add(map.mul(config.mapWeight)).add(type.mul(config.typeWeight)).add(mag.mul(config.magWeight));
  return { cls, map, type, mag, total };
}
