import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Module, ModuleList, ModuleSlots, ReLU, Sequential, type BatchNormOptions } from '../../nn/index.js';
import { ArgumentError } from '../../errors.js';
import { BasicBlock, Bottleneck, conv1x1, conv3x3, type Tap } from './resnet.js';

/**
 * HRNet as HRNet-Semantic-Segmentation's `seg_hrnet.py` builds it (the layout CAT-Net's
 * `network_CAT.py` copies): stem `conv1/bn1/conv2/bn2`, `layer1`, then stages of
 * `HighResolutionModule`s (`branches`, `fuse_layers`) joined by `transition1..3`. Module fields
 * are the official state-dict keys; every stage is an option, so one class serves HRNet-W48
 * (CAT-Net) and the stride-1 HRNet-W18-small-v2 (HiFi-Net).
 */

/** The official `blocks_dict` names. */
export type HrnetBlock = 'BASIC' | 'BOTTLENECK';

/** One stage of the official config (`STAGE2:` …): NUM_BRANCHES is the length of `numBlocks`; FUSE_METHOD is SUM, the only one the code has. */
export interface HrnetStageConfig {
  readonly numModules: number;
  readonly block: HrnetBlock;
  /** blocks per branch */
  readonly numBlocks: readonly number[];
  /** channels per branch, before the block's expansion */
  readonly numChannels: readonly number[];
}

/** The official BN_MOMENTUM of seg_hrnet.py and network_CAT.py (PyTorch's default is 0.1). */
export const HRNET_BN_MOMENTUM = 0.01;

type Block = typeof BasicBlock | typeof Bottleneck;
const BLOCKS: Record<HrnetBlock, Block> = { BASIC: BasicBlock, BOTTLENECK: Bottleneck };

function checkStage(cfg: HrnetStageConfig, name: string): void {
  const n = cfg.numBlocks.length;
  if (n < 1 || cfg.numChannels.length !== n) {
    throw new ArgumentError(`${name}.numChannels`, `one width per branch (${n} branches in numBlocks)`, cfg.numChannels);
  }
  for (const v of [cfg.numModules, ...cfg.numBlocks, ...cfg.numChannels]) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(name, 'positive integer module, block and channel counts', cfg);
  }
}

/** Official `_make_layer`: `blocks` residual blocks, the first with a 1×1 conv + BN shortcut where the shape changes. */
export function makeLayer(block: HrnetBlock, inplanes: number, planes: number, blocks: number, stride = 1, norm: BatchNormOptions = {}): Sequential {
  const B = BLOCKS[block];
  const out = planes * B.expansion;
  const downsample = stride !== 1 || inplanes !== out ? new Sequential(conv1x1(inplanes, out, stride), new BatchNorm2d(out, norm)) : null;
  const layers = [new B(inplanes, planes, stride, 1, downsample, norm)];
  for (let i = 1; i < blocks; i++) layers.push(new B(out, planes, 1, 1, null, norm));
  return new Sequential(...layers);
}

/** conv3×3 (no bias) + BN (+ ReLU): the unit of transitions and of the downward fuse paths. */
function convBn(inChannels: number, outChannels: number, stride: number, relu: boolean, norm: BatchNormOptions): Sequential {
  const conv = conv3x3(inChannels, outChannels, stride);
  const bn = new BatchNorm2d(outChannels, norm);
  return relu ? new Sequential(conv, bn, new ReLU()) : new Sequential(conv, bn);
}

/**
 * Official `_make_transition_layer`: an existing branch whose width changes gets a 3×3 conv
 * (stride 1) + BN + ReLU, one that keeps it gets None; each new branch is a chain of 3×3
 * stride-2 convs from the last previous branch.
 */
export function makeTransitionLayer(pre: readonly number[], cur: readonly number[], norm: BatchNormOptions = {}): ModuleSlots<Sequential> {
  const slots: (Sequential | null)[] = cur.map((c, i) => {
    if (i < pre.length) return c === pre[i] ? null : convBn(pre[i], c, 1, true, norm);
    const last = pre[pre.length - 1];
    const steps = i + 1 - pre.length;
    return new Sequential(...Array.from({ length: steps }, (_, j) => convBn(last, j === steps - 1 ? c : last, 2, true, norm)));
  });
  return new ModuleSlots(slots);
}

/**
 * Applies a transition to the previous stage's outputs: existing branches take their own
 * output, new branches the last one (the official forward; its `transition[i](y_list[-1])` for an
 * existing branch that changes width only runs where the two widths agree, i.e. never).
 */
export function applyTransition(transition: ModuleSlots<Sequential>, inputs: readonly Tensor[]): Tensor[] {
  return Array.from({ length: transition.length }, (_, i) => {
    const t = transition.get(i);
    const x = inputs[Math.min(i, inputs.length - 1)];
    return t === null ? x : t.forward(x);
  });
}

/** Official `HighResolutionModule` (FUSE_METHOD SUM): parallel branches, then every branch sums all of them at its own resolution. */
export class HighResolutionModule extends Module {
  readonly branches: ModuleList<Sequential>;
  readonly fuse_layers: ModuleList<ModuleSlots<Sequential>> | null;
  /** widths of the branches' outputs (official `get_num_inchannels`) */
  readonly outChannels: readonly number[];
  /** the upward fuse paths' bilinear align_corners: False in seg_hrnet/CAT-Net, True in HiFi-Net's FENet */
  readonly alignCorners: boolean;

  constructor(cfg: HrnetStageConfig, inChannels: readonly number[], multiScaleOutput = true, norm: BatchNormOptions = {}, alignCorners = false) {
    super();
    this.alignCorners = alignCorners;
    const n = cfg.numBlocks.length;
    if (inChannels.length !== n) throw new ArgumentError('inChannels', `one width per branch (${n})`, inChannels);
    const expansion = BLOCKS[cfg.block].expansion;
    this.branches = new ModuleList(cfg.numBlocks.map((blocks, b) => makeLayer(cfg.block, inChannels[b], cfg.numChannels[b], blocks, 1, norm)));
    const c = cfg.numChannels.map((w) => w * expansion);
    this.outChannels = c;
    this.fuse_layers =
      n === 1
        ? null
        : new ModuleList(
            Array.from(
              { length: multiScaleOutput ? n : 1 },
              (_, i) =>
                new ModuleSlots(
                  c.map((cj, j) => {
                    if (j === i) return null;
                    if (j > i) return new Sequential(conv1x1(cj, c[i]), new BatchNorm2d(c[i], norm)); // then bilinear up
                    // i − j stride-2 steps down; ReLU on all but the last
                    return new Sequential(
                      ...Array.from({ length: i - j }, (_, k) => (k === i - j - 1 ? convBn(cj, c[i], 2, false, norm) : convBn(cj, cj, 2, true, norm))),
                    );
                  }),
                ),
            ),
          );
  }

  forward(xs: readonly Tensor[]): Tensor[] {
    const x = xs.map((t, b) => this.branches.at(b).forward(t));
    if (this.fuse_layers === null) return x;
    return [...this.fuse_layers].map((fuse, i) =>
      torch.tidy(() => {
        // the official summation order: branch 0 first, then j = 1, 2, …
        let y = i === 0 ? x[0] : fuse.get(0)!.forward(x[0]);
        for (let j = 1; j < x.length; j++) {
          if (j === i) y = y.add(x[j]);
          else if (j > i) {
            const [h, w] = x[i].shape.slice(2);
            y = y.add(F.interpolate(fuse.get(j)!.forward(x[j]), { size: [h, w], mode: 'bilinear', alignCorners: this.alignCorners }));
          } else y = y.add(fuse.get(j)!.forward(x[j]));
        }
        return y.relu();
      }),
    );
  }
}

/** Official `_make_stage`: numModules HighResolutionModules in a numbered list (keys `stage3.2.branches…`). */
export class HighResolutionStage extends ModuleList<HighResolutionModule> {
  readonly outChannels: readonly number[];
  constructor(cfg: HrnetStageConfig, inChannels: readonly number[], multiScaleOutput = true, norm: BatchNormOptions = {}, alignCorners = false) {
    const modules: HighResolutionModule[] = [];
    let channels = inChannels;
    for (let i = 0; i < cfg.numModules; i++) {
      // multi_scale_output only applies to the last module
      modules.push(new HighResolutionModule(cfg, channels, multiScaleOutput || i < cfg.numModules - 1, norm, alignCorners));
      channels = modules[i].outChannels;
    }
    super(modules);
    this.outChannels = channels;
  }
  forward(xs: readonly Tensor[]): Tensor[] {
    let y = [...xs];
    for (const m of this) y = m.forward(y);
    return y;
  }
}

/** Widths of a stage's branches after the block's expansion (what a transition into it produces). */
export function stageWidths(cfg: HrnetStageConfig): number[] {
  return cfg.numChannels.map((c) => c * BLOCKS[cfg.block].expansion);
}

export interface HrnetOptions {
  inChannels?: number;
  /** stem width (official 64) */
  stemChannels?: number;
  /** stride of each of the two stem convs: 2 in seg_hrnet (stride 4 overall), 1 in HiFi-Net's FENet */
  stemStride?: 1 | 2;
  stage1: HrnetStageConfig;
  stage2: HrnetStageConfig;
  stage3: HrnetStageConfig;
  stage4: HrnetStageConfig;
  /** BatchNorm momentum (official HRNET_BN_MOMENTUM 0.01) */
  bnMomentum?: number;
  /** align_corners of the fuse layers' bilinear upsampling (default false; HiFi-Net's seg_hrnet.py uses true) */
  fuseAlignCorners?: boolean;
}

/** Stage configs of HRNetV2-W48 (`experiments/CAT_full.yaml` STAGE1–4, as `hrnetv2_w48_imagenet_pretrained.pth`). */
export const HRNET_W48: Pick<HrnetOptions, 'stage1' | 'stage2' | 'stage3' | 'stage4'> = {
  stage1: { numModules: 1, block: 'BOTTLENECK', numBlocks: [4], numChannels: [64] },
  stage2: { numModules: 1, block: 'BASIC', numBlocks: [4, 4], numChannels: [48, 96] },
  stage3: { numModules: 4, block: 'BASIC', numBlocks: [4, 4, 4], numChannels: [48, 96, 192] },
  stage4: { numModules: 3, block: 'BASIC', numBlocks: [4, 4, 4, 4], numChannels: [48, 96, 192, 384] },
};

/**
 * The HRNet trunk: stem, `layer1`, stages 2–4. `features` returns the four branches of stage 4
 * (strides 4, 8, 16, 32 with the stride-2 stem). It has no `forward` so that a model built on it
 * (CAT-Net's `CAT_Net`, HiFi-Net's FENet) keeps these keys at the top level, as the official
 * classes do, and gives its own `forward`; `HighResolutionNet` is the trunk alone.
 */
export class HighResolutionTrunk extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly layer1: Sequential;
  readonly transition1: ModuleSlots<Sequential>;
  readonly stage2: HighResolutionStage;
  readonly transition2: ModuleSlots<Sequential>;
  readonly stage3: HighResolutionStage;
  readonly transition3: ModuleSlots<Sequential>;
  readonly stage4: HighResolutionStage;
  /** widths of the four outputs of `features` */
  readonly outChannels: readonly number[];

  constructor(opts: HrnetOptions) {
    super();
    const { stage1, stage2, stage3, stage4 } = opts;
    for (const [name, s] of Object.entries({ stage1, stage2, stage3, stage4 })) checkStage(s, name);
    if (stage1.numBlocks.length !== 1) throw new ArgumentError('stage1.numBlocks', 'one branch (layer1)', stage1.numBlocks);
    const norm = { momentum: opts.bnMomentum ?? HRNET_BN_MOMENTUM };
    const stem = opts.stemChannels ?? 64;
    const stride = opts.stemStride ?? 2;
    this.conv1 = new Conv2d(opts.inChannels ?? 3, stem, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(stem, norm);
    this.conv2 = new Conv2d(stem, stem, 3, { stride, padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(stem, norm);
    this.layer1 = makeLayer(stage1.block, stem, stage1.numChannels[0], stage1.numBlocks[0], 1, norm);
    this.transition1 = makeTransitionLayer(stageWidths(stage1), stageWidths(stage2), norm);
    const align = opts.fuseAlignCorners ?? false;
    this.stage2 = new HighResolutionStage(stage2, stageWidths(stage2), true, norm, align);
    this.transition2 = makeTransitionLayer(this.stage2.outChannels, stageWidths(stage3), norm);
    this.stage3 = new HighResolutionStage(stage3, stageWidths(stage3), true, norm, align);
    this.transition3 = makeTransitionLayer(this.stage3.outChannels, stageWidths(stage4), norm);
    this.stage4 = new HighResolutionStage(stage4, stageWidths(stage4), true, norm, align);
    this.outChannels = this.stage4.outChannels;
  }

  /** Stem to stage 4; taps `layer1` and `stage4.{i}` (the fixtures' names). */
  features(x: Tensor, tap?: Tap): Tensor[] {
    const l1 = torch.tidy(() => this.layer1.forward(this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu())).relu()));
    tap?.('layer1', l1);
    const s2 = this.stage2.forward(applyTransition(this.transition1, [l1]));
    const s3 = this.stage3.forward(applyTransition(this.transition2, s2));
    const s4 = this.stage4.forward(applyTransition(this.transition3, s3));
    s4.forEach((t, i) => tap?.(`stage4.${i}`, t));
    return s4;
  }
}

/** The HRNet backbone on its own: `forward` returns the four branches of stage 4. */
export class HighResolutionNet extends HighResolutionTrunk {
  forward(x: Tensor, tap?: Tap): Tensor[] {
    return this.features(x, tap);
  }
}
