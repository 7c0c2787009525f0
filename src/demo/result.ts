/**
 * What a demo run produced, as types only: run.ts fills it, the report (./report) renders it.
 * Its own module so the report never imports the runner (no demo/run ↔ report cycle).
 */
import type { SplitStats } from '../data/manifest.js';
import type { FailedRow } from '../benchmark/errors.js';
import type { EvaluationResult } from '../eval/index.js';
import type { ProtocolTable } from '../benchmark/protocols.js';
import type { Condition } from '../benchmark/evaluation-folder.js';
import type { DetectResult } from '../infer/index.js';
import type { AnnotationStrip, GridRow } from './figures.js';
import type { BaselineBudget, DemoBaseline, DemoModel, DemoPlan, DemoRow, DemoStage } from './plan.js';
import type { ComparisonRow } from '../benchmark/comparisons.js';

/** One training run's loss curve (total of the three official terms per step). */
export interface TrainingCurve {
  readonly model: DemoRow;
  readonly run: string;
  readonly steps: number[];
  readonly loss: number[];
}

/** Everything the report shows, also written as report.json. */
export interface DemoResult {
  readonly plan: DemoPlan;
  readonly out: string;
  readonly stats: readonly SplitStats[];
  /** the training seeds of Base. and MSCCNet, and of each baseline */
  readonly seeds: { readonly models: readonly number[]; readonly baselines: readonly number[] };
  /** the baselines trained beside Base. and MSCCNet (`demo --methods`), in the paper's order */
  readonly baselines: readonly DemoBaseline[];
  /** the registered baselines the default left out: their estimated training time did not fit what was left of the budget (none with `--methods`) */
  readonly leftOut: readonly BaselineBudget[];
  /** the plan's training budget of the default baselines, in seconds of bare steps */
  readonly baselineSeconds: number;
  /** MSCCNet − every other model on the intra test set and on each held-out manipulation (paired bootstrap) */
  readonly comparisons: { readonly intra: readonly ComparisonRow[]; readonly leaveOneOut: readonly ComparisonRow[] };
  /** the baselines whose config, training or test failed: their cells are —, and the report says why */
  readonly failed: readonly FailedRow[];
  /** every model's tables: Base., MSCCNet and each of `baselines` */
  readonly intra: Readonly<Record<DemoModel, ProtocolTable>> & Readonly<Partial<Record<DemoBaseline, ProtocolTable>>>;
  readonly intraResults: Readonly<Record<DemoModel, EvaluationResult>>;
  readonly leaveOneOut: Readonly<Record<DemoModel, ProtocolTable>> & Readonly<Partial<Record<DemoBaseline, ProtocolTable>>>;
  /** seconds per stage (the report's own stage is timed after it is written, so it is absent there) */
  readonly stageSeconds: Readonly<Partial<Record<DemoStage, number>>>;
  /** the official metrics of predicting every pixel and image real, on the intra test set */
  readonly allReal: { readonly ACC: number; readonly AUC: number; readonly F1: number; readonly mIoU: number };
  /** the all-real predictor's pixel mIoU on each leave-one-out test set (the rows of leaveOneOut, without the average) */
  readonly leaveOneOutAllReal: readonly number[];
  readonly curves: readonly TrainingCurve[];
  readonly onnx: { readonly path: string; readonly bytes: number; readonly nodes: number };
  /** held-out videos: the truth (`real` or the method folder) and what detect said */
  readonly detect: ReadonlyArray<{ readonly truth: string; readonly result: DetectResult }>;
  readonly grid: readonly GridRow[];
  readonly strip: AnnotationStrip;
  /** the ONNX MSCCNet on the Fig. 4 test crops, clean and under each of DEMO_PERTURBATIONS */
  readonly robustness: readonly Condition[];
}
