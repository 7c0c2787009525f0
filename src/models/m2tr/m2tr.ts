import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { Module, ModuleList } from '../../nn/index.js';
import { EFFICIENTNET_NAMES, EfficientNet, type EfficientNetName } from '../backbones/efficientnet.js';
import { FilterSizeError } from '../errors.js';
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
import { CMABlock, PatchTrans } from './attention.js';
import { FreqBlock } from './frequency.js';
import { Classifier2D, Localizer } from './modules.js';

/**
 * M2TR's official configuration (`configs/m2tr.yaml` MODEL, LOSS), plus the two adaptations the
 * MSCCNet benchmark needs for a pixel-level result (§5.1.3), named: `mask` and `maskLoss`.
 */
export const M2trConfigSchema = z.strictObject({
  inputSize: z
    .number()
    .int()
    .min(64)
    .multipleOf(32)
    .default(320)
    .describe(
      'IMG_SIZE: square input side; the frequency filters follow it (complex_weight [inputSize/4, inputSize/8 + 1, 32, 2]), so a model takes this size only',
    ),
  backbone: z
    .enum(EFFICIENTNET_NAMES as [EfficientNetName, ...EfficientNetName[]])
    .default('efficientnet-b4')
    .describe(
      "the EfficientNet (configs/m2tr.yaml: efficientnet-b4); the texture layer stays the end of stage b2 (stride 4). A smaller one is a small configuration of our own (the demo's: efficientnet-b0), not the authors'",
    ),
  depth: z.number().int().min(1).default(4).describe('DEPTH: stages of [PatchTrans, FreqBlock, CMA_Block]'),
  dropout: z.number().min(0).max(1).default(0.5).describe('DROP_RATIO before the classifier projection'),
  focalAlpha: z.number().min(0).default(1).describe('FocalLoss ALPHA (on BCE-with-logits of the 2 outputs against the one-hot label)'),
  focalGamma: z.number().min(0).default(2).describe('FocalLoss GAMMA'),
  mask: z
    .literal('localizer-resized')
    .default('localizer-resized')
    .describe(
      'adaptation (§5.1.3): the official Localizer (HAS_DECODER, constructor typo fixed; off in the FF++ config), its logit (316² at 320²) resized bilinearly to the input size; mask logits [0, z]',
    ),
  maskLoss: z
    .enum(['bce', 'none'])
    .default('bce')
    .describe(
      "adaptation: BCE-with-logits of the resized Localizer logit against the mask (ignored pixels left out); 'none' trains as the official code, image loss only",
    ),
  maskWeight: z.number().min(0).default(1).describe('weight of the mask term in the total'),
  attentionQueryRows: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'CMA_Block: compute the (H/4·W/4)² attention this many queries at a time (0: all at once, as the official code); the same result with less memory at 512²',
    ),
  pretrained: pretrainedField(
    'the official init is the advprop EfficientNet-b4 of the lukemelas release (adv-efficientnet-b4-44fb3a87.pth, layout efficientnet; _fc unused)',
  ),
});
export type M2trConfig = z.output<typeof M2trConfigSchema>;

export interface M2trOutputs extends MethodOutputs {
  /** [B, 1792] `features:` (sic in the official output): the pooled head features */
  features: Tensor;
  /** [B, 1, s, s] the Localizer's logit at its own size (316² at 320²), before the official sigmoid */
  localizerLogits: Tensor;
}

/** A hook that sees intermediate tensors under their official module names (`layers.0.1.filter`, `model._bn1`, …). */
export type M2trTap = (name: string, t: Tensor) => void;

/**
 * M2TR (Wang et al., ICMR 2022), `M2TR/models/m2tr.py` with `configs/m2tr.yaml`: EfficientNet-b4
 * textures at b2 (stride 4), `depth` stages of multi-scale patch attention, frequency filter and
 * cross-modal attention, the rest of the EfficientNet, pooled 1792-d features and the classifier.
 *
 * Image logits: the classifier's projection z [B, 2], the logits its focal loss trains. The
 * official eval forward returns σ(z) instead and `tools/test.py` scores softmax(σ(z))₁;
 * msccnet's evaluation scores softmax(z)₁ = σ(z₁ − z₀): the same decision (σ is monotone), the
 * ranking of an independent-sigmoid pair read as two-class logits.
 */
export class M2TR extends Module implements MethodModel<M2trOutputs> {
  readonly methodName = 'm2tr' as const;
  readonly model: EfficientNet;
  readonly layers: ModuleList<ModuleList>;
  readonly classifier: Classifier2D;
  readonly decoder: Localizer;
  readonly config: M2trConfig;
  readonly #stages: [PatchTrans, FreqBlock, CMABlock][];
  readonly #textureBlocks: number;

  constructor(input: unknown = {}) {
    super();
    this.config = parseMethodConfig('m2tr', M2trConfigSchema, input);
    const side = this.config.inputSize / 4;
    this.model = new EfficientNet({ name: this.config.backbone, numClasses: 2 });
    // TEXTURE_LAYER b2: `extract_textures` runs the blocks up to the end of stage b2 (`_blocks[:6]` in b4)
    this.#textureBlocks = this.model.stageEnds.get('b2')! + 1;
    const textureDim = this.model._blocks.at(this.#textureBlocks - 1)._bn2.numFeatures;
    this.#stages = Array.from({ length: this.config.depth }, () => [
      new PatchTrans(textureDim, side),
      new FreqBlock(textureDim, side),
      new CMABlock(textureDim, textureDim, textureDim, this.config.attentionQueryRows),
    ]);
    this.layers = new ModuleList(this.#stages.map((stage) => new ModuleList(stage)));
    this.classifier = new Classifier2D(this.model.featureChannels, 2, this.config.dropout);
    this.decoder = new Localizer(textureDim, 1);
  }

  get preprocessing(): Preprocessing {
    return { ...IMAGENET_NORMALIZE, inputSize: this.config.inputSize };
  }

  forward(x: Tensor, tap?: M2trTap): M2trOutputs {
    const [B, , H, W] = x.shape;
    const S = this.config.inputSize;
    if (H !== S || W !== S) {
      const filter = this.#stages[0][1].filter;
      throw new FilterSizeError(x.shape, S, [filter.h, filter.w, filter.dim, 2]);
    }
    let rgb = this.model.blocks(
      this.model.stem(x, (n, t) => tap?.(`model.${n}`, t)),
      0,
      this.#textureBlocks,
    );
    tap?.(`model._blocks.${this.#textureBlocks - 1}`, rgb);
    this.#stages.forEach(([attn, filter, cma], i) => {
      rgb = attn.forward(rgb);
      tap?.(`layers.${i}.0`, rgb);
      const freq = filter.forward(rgb, (n, t) => tap?.(`layers.${i}.1.${n}`, t));
      tap?.(`layers.${i}.1`, freq);
      rgb = cma.forward(rgb, freq);
      tap?.(`layers.${i}.2`, rgb);
    });
    const head = this.model.head(this.model.blocks(rgb, this.#textureBlocks), (n, t) => tap?.(`model.${n}`, t));
    const features = F.adaptiveAvgPool2d(head, 1).view(B, -1);
    const imgLogits = this.classifier.forward(features);
    tap?.('classifier.projection', imgLogits);
    const localizerLogits = this.decoder.forward(rgb, (n, t) => tap?.(`decoder.${n}`, t));
    const mask = F.interpolate(localizerLogits, { size: [H, W], mode: 'bilinear', alignCorners: false });
    return { imgLogits, maskLogits: sigmoidAsTwoClass(mask), features, localizerLogits };
  }

  /**
   * `focal`: the official FocalLoss, α·(1 − p_t)^γ·BCE over the two outputs against the one-hot
   * label, averaged; `mask` (adaptation, maskLoss 'bce'): BCE-with-logits of the resized
   * Localizer logit against mask = 1, ignored pixels (255) left out.
   */
  losses(outputs: M2trOutputs, targets: MethodTargets): NamedLosses {
    const { focalAlpha, focalGamma, maskLoss, maskWeight } = this.config;
    const label = targets.label.to('float32');
    const onehot = torch.stack([label.neg().add(1), label], 1);
    const bce = F.binaryCrossEntropyWithLogits(outputs.imgLogits, onehot, { reduction: 'none' });
    const focal = bce.neg().exp().neg().add(1).pow(focalGamma).mul(bce).mul(focalAlpha).mean();
    if (maskLoss === 'none') return { focal, total: focal };
    const [, h, w] = targets.segmentation.shape;
    let logit = outputs.maskLogits.narrow(1, 1, 1);
    if (logit.shape[2] !== h || logit.shape[3] !== w) logit = F.interpolate(logit, { size: [h, w], mode: 'bilinear', alignCorners: false });
    const seg = targets.segmentation.unsqueeze(1);
    const valid = seg.ne(255).to(logit.dtype);
    const perPixel = F.binaryCrossEntropyWithLogits(logit, seg.eq(1).to(logit.dtype), { reduction: 'none' });
    const mask = perPixel.mul(valid).sum().div(valid.sum().clamp(1));
    return { focal, mask, total: focal.add(mask.mul(maskWeight)) };
  }
}
