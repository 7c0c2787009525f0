import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, ReLU, Sequential, type ModuleSlots } from '../../nn/index.js';
import { MsccnetError } from '../../errors.js';
import { CATNET_DCT_CLIP } from '../../image/jpeg/index.js';
import {
  parseMethodConfig,
  pretrainedListField,
  sigmoidAsTwoClass,
  type AuxiliaryInputs,
  type AuxiliaryInputSpec,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';
import {
  HRNET_BN_MOMENTUM,
  HighResolutionStage,
  HighResolutionTrunk,
  applyTransition,
  makeLayer,
  makeTransitionLayer,
  stageWidths,
  type HrnetStageConfig,
} from '../backbones/hrnet.js';
import type { Tap } from '../backbones/resnet.js';

/**
 * CAT-Net (Kwon et al., IJCV 2022), `mjkwon2021/CAT-Net` `lib/models/network_CAT.py` built
 * from `experiments/CAT_full.yaml`: an HRNetV2-W48 RGB stream, a DCT stream on the JPEG's
 * quantised Y coefficients, both fused in a fifth HRNet stage, two-class logits at stride 4.
 */

/** channels of the DCT volume: T + 1 with T = CATNET_DCT_CLIP (channel i is |c| = i, channel T is |c| ≥ T; image/jpeg catnetInput) */
export const CATNET_DCT_CHANNELS = CATNET_DCT_CLIP + 1;

/**
 * Defaults are `CAT_full.yaml`'s and the official training's. The widths and module counts are
 * options so a test can build a small network of the same layout (W48 has 114 M parameters).
 */
export const CatnetConfigSchema = z.strictObject({
  inputSize: z
    .number()
    .int()
    .min(32)
    .multipleOf(8)
    .default(512)
    .describe('square input side on the 8-pixel JPEG grid (official training crop 512; official inference takes any multiple of 8)'),
  width: z.number().int().min(1).default(48).describe('RGB stream: HRNet width W, branches W/2W/4W/8W (CAT_full STAGE2–4: 48)'),
  dctWidth: z.number().int().min(1).default(96).describe('DCT stream: branches D/2D/4D (DC_STAGE3–4: 96)'),
  fusionWidth: z.number().int().min(1).default(24).describe('stage 5: branches F/2F/4F/8F (STAGE5: 24)'),
  blocks: z.number().int().min(1).default(4).describe('residual blocks per branch in every stage, layer1 and dc_layer2 (official 4)'),
  modules: z
    .strictObject({
      stage2: z.number().int().min(1).default(1),
      stage3: z.number().int().min(1).default(4),
      stage4: z.number().int().min(1).default(3),
      dcStage3: z.number().int().min(1).default(3),
      dcStage4: z.number().int().min(1).default(2),
      stage5: z.number().int().min(1).default(1),
    })
    .prefault({})
    .describe('HighResolutionModules per stage (CAT_full NUM_MODULES)'),
  classWeights: z
    .tuple([z.number().positive(), z.number().positive()])
    .default([0.5, 2.5])
    .describe('CE class weights (authentic, tampered): the official `class_weight=[0.5, 2.5]`'),
  jpegQuality: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(100)
    .describe(
      'adaptation: quality at which an input that is not a JPEG (FF++ frames from H.264, PNG crops) is JPEG-encoded, 4:4:4, before CAT-Net reads its coefficients; 100 as the official tools/infer.py (docs/baselines.md)',
    ),
  pretrained: pretrainedListField(
    'the official init loads hrnetv2_w48_imagenet_pretrained.pth (from: hrnet, the RGB stream) and DCT_djpeg.pth.tar (from: catnet-dct, the DCT stream)',
  ),
});
export type CatnetConfig = z.output<typeof CatnetConfigSchema>;
export type CatnetConfigInput = z.input<typeof CatnetConfigSchema>;

export interface CatnetOutputs extends MethodOutputs {
  /**
   * [B, 2] adaptation: [0, z] with z the largest logit difference l₁ − l₀ of the mask, so
   * softmax gives the maximum of the stride-4 fake-probability map (σ is monotone; bilinear
   * upsampling cannot exceed it either). The official code has no image output.
   */
  imgLogits: Tensor;
  /** [B, 2, H/4, W/4] `CAT_Net.forward`'s logits, class 1 = tampered */
  maskLogits: Tensor;
}

/** A CAT-Net forward without its DCT inputs, or with inputs off the 8-pixel grid. */
export class CatnetInputError extends MsccnetError {
  constructor(problem: string) {
    super(
      'MSCCNET_CATNET_INPUT',
      `catnet: ${problem}`,
      'pass the RGB image [B, 3, H, W] (H, W multiples of 8) with aux { dctVolume: [B, 21, H, W], qtable: [B, 1, 8, 8] } from the JPEG (a non-JPEG is encoded at the config jpegQuality first)',
    );
  }
}

/** CAT-Net's two auxiliary inputs (the official `x[:, 3:]` and `qtable`). */
export const CATNET_AUXILIARY_INPUTS: readonly AuxiliaryInputSpec[] = [
  { name: 'dctVolume', shape: (b, h, w) => [b, CATNET_DCT_CHANNELS, h, w] },
  { name: 'qtable', shape: (b) => [b, 1, 8, 8] },
];

function stage(numModules: number, block: 'BASIC' | 'BOTTLENECK', blocks: number, widths: readonly number[]): HrnetStageConfig {
  return { numModules, block, numBlocks: widths.map(() => blocks), numChannels: widths };
}

const ladder = (w: number, n: number) => Array.from({ length: n }, (_, i) => w << i);

/** `CAT_Net` with the official state-dict keys (`conv1` … `stage4`, `dc_layer0_dil` … `dc_stage4`, `transition4`, `stage5`, `last_layer`). */
export class CAT_Net extends HighResolutionTrunk implements MethodModel<CatnetOutputs> {
  readonly methodName = 'catnet' as const;
  readonly config: CatnetConfig;
  readonly auxiliaryInputs = CATNET_AUXILIARY_INPUTS;
  readonly dc_layer0_dil: Sequential;
  readonly dc_layer1_tail: Sequential;
  readonly dc_layer2: Sequential;
  readonly dc_transition2: ModuleSlots<Sequential>;
  readonly dc_stage3: HighResolutionStage;
  readonly dc_transition3: ModuleSlots<Sequential>;
  readonly dc_stage4: HighResolutionStage;
  readonly transition4: ModuleSlots<Sequential>;
  readonly stage5: HighResolutionStage;
  readonly last_layer: Sequential;

  constructor(config: CatnetConfigInput = {}) {
    const c = parseMethodConfig('catnet', CatnetConfigSchema, config);
    const m = c.modules;
    super({
      stage1: stage(1, 'BOTTLENECK', c.blocks, [64]),
      stage2: stage(m.stage2, 'BASIC', c.blocks, ladder(c.width, 2)),
      stage3: stage(m.stage3, 'BASIC', c.blocks, ladder(c.width, 3)),
      stage4: stage(m.stage4, 'BASIC', c.blocks, ladder(c.width, 4)),
    });
    this.config = c;
    const norm = { momentum: HRNET_BN_MOMENTUM };
    // DCT stream: the 8-dilated 3×3 sees the same frequency of 3×3 neighbouring blocks
    this.dc_layer0_dil = new Sequential(
      new Conv2d(CATNET_DCT_CHANNELS, 64, 3, { dilation: 8, padding: 8 }),
      new BatchNorm2d(64, { momentum: HRNET_BN_MOMENTUM }),
      new ReLU(),
    );
    this.dc_layer1_tail = new Sequential(new Conv2d(64, 4, 1, { bias: false }), new BatchNorm2d(4, norm), new ReLU());
    this.dc_layer2 = makeLayer('BASIC', 4 * 64 * 2, c.dctWidth, c.blocks, 1, norm);
    const dc3 = stage(m.dcStage3, 'BASIC', c.blocks, ladder(c.dctWidth, 2));
    const dc4 = stage(m.dcStage4, 'BASIC', c.blocks, ladder(c.dctWidth, 3));
    this.dc_transition2 = makeTransitionLayer([c.dctWidth], stageWidths(dc3), norm);
    this.dc_stage3 = new HighResolutionStage(dc3, stageWidths(dc3), true, norm);
    this.dc_transition3 = makeTransitionLayer(this.dc_stage3.outChannels, stageWidths(dc4), norm);
    this.dc_stage4 = new HighResolutionStage(dc4, stageWidths(dc4), true, norm);
    // stage 5: RGB branch 0 alone, RGB branches 1–3 each concatenated with DCT branches 0–2
    const s5 = stage(m.stage5, 'BASIC', c.blocks, ladder(c.fusionWidth, 4));
    const fusedIn = this.outChannels.map((rgb, i) => rgb + (i === 0 ? 0 : this.dc_stage4.outChannels[i - 1]));
    this.transition4 = makeTransitionLayer(fusedIn, stageWidths(s5), norm);
    this.stage5 = new HighResolutionStage(s5, stageWidths(s5), true, norm);
    const last = this.stage5.outChannels.reduce((a, b) => a + b, 0);
    this.last_layer = new Sequential(new Conv2d(last, last, 1), new BatchNorm2d(last, norm), new ReLU(), new Conv2d(last, 2, 1)); // FINAL_CONV_KERNEL 1
  }

  /** The official input contract: RGB (v − 127.5)/127.5, resized to inputSize² (a multiple of 8). */
  get preprocessing(): Preprocessing {
    return { channelOrder: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], inputSize: this.config.inputSize, resize: 'cv2-linear' };
  }

  /** MethodModel's forward with the auxiliary inputs (the registry's callers go through methodForward). */
  forwardWith(rgb: Tensor, aux: AuxiliaryInputs): CatnetOutputs {
    return this.forward(rgb, aux);
  }

  /**
   * `CAT_Net.forward(x, qtable)` with x split as ours: `rgb` = x[:, :3], aux.dctVolume =
   * x[:, 3:], aux.qtable [B, 1, 8, 8]. Taps carry the parity fixture's names.
   */
  forward(rgb: Tensor, aux?: AuxiliaryInputs, tap?: Tap): CatnetOutputs {
    const { dctVolume, qtable } = checkInputs(rgb, aux);
    const rgbList = this.features(rgb, tap);

    // DCT stream
    const l0 = this.dc_layer0_dil.forward(dctVolume);
    tap?.('dc_layer0_dil', l0);
    const tail = this.dc_layer1_tail.forward(l0); // [B, 4, H, W]
    tap?.('dc_layer1_tail', tail);
    const [B, C, H, W] = tail.shape;
    // block-to-channel: channel 64·c + 8·i + j holds offset (i, j) of every 8×8 block of channel c
    const blocks = tail.reshape(B, C, H / 8, 8, W / 8, 8).permute(0, 1, 3, 5, 2, 4); // [B, C, 8, 8, H/8, W/8]
    const x0 = blocks.reshape(B, 64 * C, H / 8, W / 8);
    const x1 = blocks.mul(qtable.reshape(B, 1, 8, 8, 1, 1)).reshape(B, 64 * C, H / 8, W / 8); // × q-table, per sample
    const dcIn = torch.cat([x0, x1], 1);
    tap?.('dc_layer2', dcIn);
    const dc3 = this.dc_stage3.forward(applyTransition(this.dc_transition2, [this.dc_layer2.forward(dcIn)]));
    const dcList = this.dc_stage4.forward(applyTransition(this.dc_transition3, dc3));
    dcList.forEach((t, i) => tap?.(`dc_stage4.${i}`, t));

    // stage 5
    const fused = rgbList.map((t, i) => (i === 0 ? t : torch.cat([t, dcList[i - 1]], 1)));
    const s5 = this.stage5.forward(applyTransition(this.transition4, fused));
    s5.forEach((t, i) => tap?.(`stage5.${i}`, t));
    const [h, w] = s5[0].shape.slice(2);
    const up = s5.map((t, i) => (i === 0 ? t : F.interpolate(t, { size: [h, w], mode: 'bilinear', alignCorners: false })));
    const head = [0, 1, 2].reduce((y, k) => this.last_layer.at(k).forward(y), torch.cat(up, 1));
    tap?.('last_layer.2', head);
    const maskLogits = this.last_layer.at(3).forward(head);
    const margin = maskLogits.select(1, 1).sub(maskLogits.select(1, 0)); // [B, h, w] l₁ − l₀
    return { imgLogits: sigmoidAsTwoClass(margin.flatten(1).max(1).values.unsqueeze(1)), maskLogits };
  }

  /**
   * The official `CrossEntropy` criterion: logits upsampled bilinearly (align_corners False) to
   * the mask, CE with class weights [0.5, 2.5] (weighted mean), ignored pixels (official −1,
   * our 255) left out. No image-level term.
   */
  losses(outputs: CatnetOutputs, targets: MethodTargets): NamedLosses {
    const [, H, W] = targets.segmentation.shape;
    const logits = F.interpolate(outputs.maskLogits, { size: [H, W], mode: 'bilinear', alignCorners: false });
    const weight = torch.tensor(this.config.classWeights, [2]).to(logits.device);
    const seg = F.crossEntropy(logits, targets.segmentation.long(), { weight, ignoreIndex: 255 });
    return { seg, total: seg };
  }
}

function checkInputs(rgb: Tensor, aux: AuxiliaryInputs | undefined): { dctVolume: Tensor; qtable: Tensor } {
  const [B, c, H, W] = rgb.shape;
  if (rgb.ndim !== 4 || c !== 3 || H % 8 !== 0 || W % 8 !== 0)
    throw new CatnetInputError(`the RGB input is [${rgb.shape.join(', ')}], not [B, 3, H, W] on the 8-pixel grid`);
  const dctVolume = aux?.dctVolume;
  const qtable = aux?.qtable;
  if (dctVolume === undefined || qtable === undefined) throw new CatnetInputError('the DCT volume and the quantisation table are missing');
  const want = (t: Tensor, shape: number[]) => t.shape.length === shape.length && t.shape.every((v, i) => v === shape[i]);
  if (!want(dctVolume, [B, CATNET_DCT_CHANNELS, H, W]))
    throw new CatnetInputError(`dctVolume is [${dctVolume.shape.join(', ')}], not [${B}, ${CATNET_DCT_CHANNELS}, ${H}, ${W}]`);
  if (!want(qtable, [B, 1, 8, 8])) throw new CatnetInputError(`qtable is [${qtable.shape.join(', ')}], not [${B}, 1, 8, 8]`);
  return { dctVolume, qtable };
}
