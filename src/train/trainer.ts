/**
 * The training loop of the reference (`train_segmentor.py`, official-spec §9) for any registered
 * method: SGD (or AdamW, an option for training from random init) with the per-iteration poly
 * schedule, the method's own loss terms, gradient accumulation, validation with the official
 * metrics, checkpoints and bit-exact resume. Prints nothing: progress leaves through
 * `onEvent`, and every step's record also goes to the run's `log.jsonl`.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { lockFolder, type FolderLock } from '../io/lock.js';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type EvaluationResult, type OfficialMetrics } from '../eval/index.js';
import {
  buildMethod,
  loadPretrained,
  loadWeights,
  methodDefinition,
  modelFileMetadata,
  weightedTotal,
  type LoadReport,
  type MethodDefinition,
  type MethodModel,
  type PretrainedSpec,
} from '../models/index.js';
import { methodForward } from '../models/method.js';
import { AdamW, GradScaler, preciseBatchNorm, SGD, type Optimizer } from '../nn/index.js';
import { autocastDtype, batchToDevice, resolveDevice, toHost, torch, withPrecision, type Device, type Tensor } from '../torch/index.js';
import type { TrainConfig } from './config.js';
import {
  loadCheckpoint,
  openRunFolder,
  pruneCheckpoints,
  RNG_SCHEME,
  saveCheckpoint,
  stepName,
  truncateLog,
  type CheckpointState,
  type RunFolder,
} from './checkpoint.js';
import { type Sample, type SampleList } from '../samples/dataset.js';
import { CheckpointError, DivergedError } from './errors.js';
import { checkDataList, dataListRecord, writeDataList } from './data-list.js';
import { DatasetError } from '../samples/errors.js';
import { SamplePool, trainBatches, type SkippedSample, type TrainBatch } from '../samples/loader.js';
import { hashKey } from '../samples/rng.js';
import { polyLr, type PolySchedule } from './schedule.js';
import type { ProcessGroup } from './distributed.js';
import { gradientProbe, nonFiniteProbe } from './divergence.js';
import { epochOrder, microBatches, runSteps, stepsPerEpoch, trainingList } from './epochs.js';
import { dctInputsOf, validate } from './validate.js';
import { SladdSynthesis, usesSladdSynthesizer } from './sladd.js';

export type TrainEvent =
  | {
      readonly kind: 'start';
      readonly runDir: string;
      readonly samples: number;
      readonly stepsPerEpoch: number;
      readonly totalSteps: number;
      readonly startStep: number;
      readonly listSkipped: number;
    }
  | {
      readonly kind: 'step';
      readonly step: number;
      readonly totalSteps: number;
      readonly epoch: number;
      readonly lr: number;
      readonly losses: Readonly<Record<string, number>>;
      readonly imagesPerSecond: number;
      readonly seconds: number;
    }
  | { readonly kind: 'skip'; readonly path: string; readonly reason: string; readonly skippedTotal: number }
  /** a step taken without an update: no process had a readable sample in its batch */
  | { readonly kind: 'warning'; readonly step: number; readonly message: string }
  | { readonly kind: 'validation'; readonly step: number; readonly epoch: number; readonly metrics: OfficialMetrics; readonly images: number }
  | { readonly kind: 'checkpoint'; readonly step: number; readonly path: string; readonly best: boolean }
  | { readonly kind: 'done'; readonly step: number; readonly seconds: number; readonly skipped: number };

export interface TrainOptions {
  readonly onEvent?: (e: TrainEvent) => void;
  readonly signal?: AbortSignal;
  /** continue from the newest complete checkpoint of config.run.dir */
  readonly resume?: boolean;
  /** replace the run that config.run.dir holds (its config, log and checkpoints are removed) */
  readonly overwrite?: boolean;
  /** the process group of a data-parallel run (rank 0 writes the run folder) */
  readonly group?: ProcessGroup | null;
  /**
   * decode threads shared with the caller's other runs, which the caller closes; default: a pool of
   * config.data.workers made for this run and closed at its end (each new worker thread costs
   * about 14 k page faults to start)
   */
  readonly pool?: SamplePool;
}

export interface TrainSummary {
  readonly runDir: string;
  readonly step: number;
  readonly lastCheckpoint: string | null;
  readonly validation: EvaluationResult | null;
  readonly bestMIoU: number | null;
  readonly skipped: number;
  /** what was done to the run folder at start (temps removed, an incomplete checkpoint skipped, an old run replaced) */
  readonly notes: readonly string[];
}

/** Builds the config's method through the registry, with its initial weights; `onPretrained` receives the load report of model.pretrained. */
export async function buildModel(config: TrainConfig, onPretrained?: (report: LoadReport) => void): Promise<MethodModel> {
  const model = buildMethod(config.method, config.model);
  const own = (config.model as { pretrained?: PretrainedSpec | string | (PretrainedSpec | string)[] | null }).pretrained ?? null;
  const pretrained = own ?? config.run.backboneWeights; // run.backboneWeights: the older name
  // a list (CAT-Net: the RGB and the DCT stream's files) loads in order, one report each
  for (const spec of pretrained === null ? [] : [pretrained].flat())
    onPretrained?.(await loadPretrained(model, typeof spec === 'string' ? { file: spec } : spec));
  if (config.run.weights !== null) await loadWeights(model, config.run.weights);
  return model;
}

/** Only the fields that change the trajectory must match on resume (not run.* housekeeping, nor the device). */
function trajectory(c: TrainConfig): unknown {
  const { run: _run, data, device: _device, cudnnBenchmark: _benchmark, ...rest } = c;
  const { workers: _w, prefetch: _p, ...dataRest } = data;
  return { ...rest, data: dataRest };
}

/** Trains `config.method` as the config says; see {@link TrainRun} for the stages of one run. */
export async function train(config: TrainConfig, opts: TrainOptions = {}): Promise<TrainSummary> {
  const run = await TrainRun.open(config, opts);
  try {
    while (!run.finished) {
      for await (const batch of run.epochBatches()) {
        await run.step(batch);
        if (run.finished) await run.preciseBatchNorm();
        const mIoU = await run.maybeValidate();
        await run.maybeCheckpoint(mIoU);
        if (run.finished) break;
      }
    }
    return await run.finish(); // before close(), which releases the folder
  } finally {
    await run.close();
  }
}

/** How one process trains: what `open` derives from the config and the process group. */
interface RunPlan {
  readonly config: TrainConfig;
  readonly opts: TrainOptions;
  readonly group: ProcessGroup | null;
  readonly rank: number;
  readonly world: number;
  readonly device: Device;
  readonly localBatch: number;
  readonly micro: number;
  readonly runDir: string;
  readonly listed: SampleList;
  readonly list: Sample[];
  readonly perEpoch: number;
  readonly totalSteps: number;
  readonly schedule: PolySchedule;
}

/**
 * One training run in named stages: `open` (device, data list, model, optimiser, run folder,
 * resume), then per batch `step` (one optimiser step), `maybeValidate`, `maybeCheckpoint`, and
 * `finish`. The method's own losses, times the config's multipliers, are what is backpropagated
 * and logged under the method's keys.
 */
export class TrainRun {
  private stepCount: number;
  private bestMIoU: number | null;
  private skippedTotal: number;
  private lastCheckpoint: string | null = null;
  private validation: EvaluationResult | null = null;
  private sinceLog = { steps: 0, images: 0, seconds: 0 };
  /** samples the training batches of this process's run asked for, and those that could not be read (all ranks) */
  private loads = { loaded: 0, skipped: 0 };
  /** the last step had no readable sample: no checkpoint then, so a resume retrains its batch */
  private emptyStep = false;
  private readonly t0 = performance.now();
  private readonly definition: MethodDefinition;

  private constructor(
    private readonly plan: RunPlan,
    readonly model: MethodModel,
    private readonly optimizer: Optimizer<{ lr: number }>,
    private readonly scaler: GradScaler,
    private readonly pool: SamplePool,
    private readonly notes: readonly string[],
    start: { step: number; bestMIoU: number | null },
    private readonly lock: FolderLock | null,
    /** SLADD's synthesizer, trained beside the detector (null for every other run) */
    readonly synthesis: SladdSynthesis | null,
  ) {
    this.stepCount = start.step;
    this.bestMIoU = start.bestMIoU;
    this.skippedTotal = plan.listed.skipped.length;
    this.definition = methodDefinition(model.methodName);
  }

  /** Optimiser steps taken so far (resumed ones included). */
  get steps(): number {
    return this.stepCount;
  }

  get finished(): boolean {
    return this.stepCount >= this.plan.totalSteps;
  }

  private get lead(): boolean {
    return this.plan.rank === 0;
  }

  private emit(e: TrainEvent): void {
    if (this.lead) this.plan.opts.onEvent?.(e);
  }

  private async log(record: Record<string, unknown>): Promise<void> {
    if (this.lead) await appendFile(join(this.plan.runDir, 'log.jsonl'), `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  private async skip(s: SkippedSample): Promise<void> {
    this.skippedTotal++;
    await this.log({ event: 'skip', path: s.path, reason: s.reason });
    this.emit({ kind: 'skip', path: s.path, reason: s.reason, skippedTotal: this.skippedTotal });
  }

  /** Checks the config against the process group and data, builds the model and optimiser, opens (or resumes) the run folder. */
  static async open(config: TrainConfig, opts: TrainOptions = {}): Promise<TrainRun> {
    const group = opts.group ?? null;
    const rank = group?.rank ?? 0;
    const world = group?.worldSize ?? 1;
    const lead = rank === 0;
    const runDir = resolve(config.run.dir);
    if (config.run.threads > 0) torch.setNumThreads(config.run.threads);
    const device = resolveDevice(config.device, rank);
    autocastDtype(config.precision, device); // refuses fp16 on the CPU before any work
    if (device !== 'cpu') torch.backends.cudnn.benchmark = config.cudnnBenchmark;
    if (config.batchSize % world !== 0) {
      throw new DatasetError(
        `batchSize ${config.batchSize} is not divisible by ${world} processes`,
        'pick a batch size that is a multiple of the process count',
      );
    }
    const localBatch = config.batchSize / world;
    const micro = config.microBatch > 0 ? Math.min(config.microBatch, localBatch) : localBatch;
    if (localBatch % micro !== 0) {
      throw new DatasetError(
        `microBatch ${micro} does not divide the per-process batch ${localBatch}`,
        'pick a micro batch that divides batchSize / processes',
      );
    }
    const { listed, list } = await trainingList(config);
    const perEpoch = stepsPerEpoch(list.length, localBatch, world);
    if (perEpoch === 0) {
      throw new DatasetError(
        `${list.length} training samples make no batch of ${config.batchSize}`,
        `check data.${config.data.manifest !== null ? 'manifest' : 'root'}, data.trainSplit ('${config.data.trainSplit}') and data.compression ('${config.data.compression}')`,
      );
    }
    const schedule: PolySchedule = { lr: config.optim.lr, power: config.optim.power, minLrRatio: config.optim.minLrRatio, maxIters: config.epochs * perEpoch };
    const plan: RunPlan = {
      config,
      opts,
      group,
      rank,
      world,
      device,
      localBatch,
      micro,
      runDir,
      listed,
      list,
      perEpoch,
      totalSteps: runSteps(config, perEpoch),
      schedule,
    };

    torch.manualSeed(hashKey([config.seed])); // the initial weights are a function of the seed
    const pretrained: LoadReport[] = [];
    const model = await buildModel(config, (report) => {
      pretrained.push(report);
    });
    model.to(device, config.channelsLast ? { memoryFormat: 'channelsLast' } : {}); // once: the optimiser's state follows the parameters
    const synthesis = usesSladdSynthesizer(config) ? await SladdSynthesis.open(config, device, { world, micro, localBatch }) : null;
    const scaler = new GradScaler({ enabled: config.precision === 'fp16' });
    const o = config.optim;
    const optimizer: Optimizer<{ lr: number }> =
      o.optimizer === 'adamw'
        ? new AdamW(model.parameters(), { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay })
        : new SGD(model.parameters(), { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
    // the writing process owns the folder until close(): a second run on it is refused at once
    const lock = lead ? await lockFolder(runDir) : null;
    let run: TrainRun, folder: RunFolder, start: { step: number; bestMIoU: number | null };
    try {
      folder = await openRunFolder(runDir, { resume: opts.resume ?? false, overwrite: opts.overwrite ?? false, lead });
      if (lead) await mkdir(runDir, { recursive: true });
      start = opts.resume ? await resumeState(plan, folder.resumeFrom!, model, optimizer, scaler, synthesis) : { step: 0, bestMIoU: null };
      if (opts.resume && lead) await truncateLog(join(runDir, 'log.jsonl'), start.step);
      if (!opts.resume && lead) {
        await writeFile(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
        await writeDataList(runDir, dataListRecord(list));
      }
      group?.broadcastParameters(model);
      group?.synchronizeBatchNorm(model, config.distributed.syncBn);
      run = new TrainRun(plan, model, optimizer, scaler, opts.pool ?? (await SamplePool.create(config.data.workers)), folder.notes, start, lock, synthesis);
    } catch (err) {
      await lock?.release();
      throw err;
    }
    if (!opts.resume) for (const report of pretrained) await run.log({ event: 'pretrained', ...report });
    for (const message of folder.notes) await run.log({ event: 'note', message });
    if (config.method === 'sladd') {
      const message =
        synthesis !== null
          ? "SLADD: the detector trains on the synthesizer's forgeries (landmarks from face-api's 68-point model) and the dataset's samples; REINFORCE updates the policy"
          : "SLADD: model.detectorAlone — the detector trains alone on the dataset's images and masks, without the synthesizer (a simplification of the official recipe)";
      await run.log({ event: 'note', message });
    }
    for (const s of listed.skipped) await run.log({ event: 'skip', path: s.where, reason: s.reason });
    const { totalSteps } = plan;
    run.emit({ kind: 'start', runDir, samples: list.length, stepsPerEpoch: perEpoch, totalSteps, startStep: start.step, listSkipped: listed.skipped.length });
    await run.log({
      event: 'start',
      method: config.method,
      samples: list.length,
      stepsPerEpoch: perEpoch,
      totalSteps,
      startStep: start.step,
      world,
      localBatch,
      micro,
    });
    return run;
  }

  /** The remaining batches of the current epoch, augmented with the method's own normalisation. */
  epochBatches(): AsyncGenerator<TrainBatch> {
    const { perEpoch } = this.plan;
    return this.batchesOf(Math.floor(this.stepCount / perEpoch), this.stepCount % perEpoch);
  }

  /** Epoch `epoch`'s batches from its `start`-th on. */
  private batchesOf(epoch: number, start: number): AsyncGenerator<TrainBatch> {
    const { config, list, perEpoch, rank, world, localBatch } = this.plan;
    const { channelOrder, mean, std, resize } = this.model.preprocessing;
    return trainBatches(this.pool, list, {
      order: epochOrder(list.length, config.seed, epoch, rank, world),
      batchSize: localBatch,
      batches: perEpoch,
      start,
      seed: config.seed,
      epoch,
      prefetch: config.data.prefetch,
      rank,
      worldSize: world,
      transform: {
        preset: config.data.augment,
        cropSize: config.data.cropSize,
        scaleBase: config.data.scaleBase,
        normalize: { channelOrder, mean, std },
        resize,
      },
      ...dctInputsOf(this.model),
    });
  }

  /** One optimiser step on a batch at the schedule's learning rate; emits and logs its losses. */
  async step(batch: TrainBatch): Promise<void> {
    this.plan.opts.signal?.throwIfAborted();
    for (const s of batch.skipped) await this.skip(s);
    this.emptyStep = await this.emptyBatch(batch);
    if (this.emptyStep) return;
    const { config, perEpoch, totalSteps, world } = this.plan;
    const ts = performance.now();
    const lr = polyLr(this.stepCount, this.plan.schedule);
    this.optimizer.lr = lr;
    let losses: Record<string, number>;
    try {
      losses = this.synthesis !== null ? await this.synthesizerStep(this.synthesis, batch, lr) : this.optimiserStep(batch);
    } catch (err) {
      if (err instanceof DivergedError) await this.log({ event: 'diverged', step: err.step, problem: err.problem });
      throw err;
    }
    const step = ++this.stepCount;
    const seconds = (performance.now() - ts) / 1000;
    const s = this.sinceLog;
    this.sinceLog = { steps: s.steps + 1, images: s.images + batch.count * world, seconds: s.seconds + seconds };
    const epoch = Math.floor((step - 1) / perEpoch);
    this.emit({ kind: 'step', step, totalSteps, epoch, lr, losses, imagesPerSecond: (batch.count * world) / seconds, seconds });
    if (step % config.run.logEvery === 0 || step === totalSteps) {
      const mem = process.memoryUsage();
      const l = this.sinceLog;
      await this.log({
        event: 'step',
        step,
        epoch,
        lr,
        ...losses,
        imagesPerSecond: l.images / l.seconds,
        secondsPerStep: l.seconds / l.steps,
        rssBytes: mem.rss,
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
      });
      this.sinceLog = { steps: 0, images: 0, seconds: 0 };
    }
  }

  /**
   * Counts the batch's unreadable samples (over all ranks, so every rank decides alike) and
   * stops the run when more than data.maxSkippedFraction of the samples loaded since it started
   * were unreadable (from 4 batches on). Returns true when some rank has no readable sample: the
   * step is then counted without an update, as a GradScaler skip, and a warning says so.
   */
  private async emptyBatch(batch: TrainBatch): Promise<boolean> {
    const { config, group } = this.plan;
    const local = [batch.count === 0 ? 1 : 0, batch.count + batch.skipped.length, batch.skipped.length];
    const [empty, loaded, skipped] = group === null ? local : group.allReduceNumbers(local);
    this.loads = { loaded: this.loads.loaded + loaded, skipped: this.loads.skipped + skipped };
    const l = this.loads;
    if (l.loaded >= 4 * config.batchSize && l.skipped > config.data.maxSkippedFraction * l.loaded) {
      const example = batch.skipped[0] ?? null;
      throw new DatasetError(
        `${l.skipped} of the ${l.loaded} samples loaded since this run started could not be read (more than data.maxSkippedFraction ${config.data.maxSkippedFraction})${example ? `, e.g. ${example.path}: ${example.reason}` : ''}`,
        'check that the data is in place (moved, deleted, unmounted?), then continue from the last checkpoint with `msccnet train --resume`; or raise data.maxSkippedFraction',
      );
    }
    if (empty === 0) return false;
    const step = ++this.stepCount;
    const message = 'no readable sample in the batch: the step is taken without an update';
    await this.log({ event: 'warning', step, message });
    this.emit({ kind: 'warning', step, message });
    return true;
  }

  /**
   * With config.preciseBn, every BatchNorm's running statistics become the average over that
   * many training forwards (nn/precise-bn.ts), drawn in the order of epoch `epochs` onwards (one
   * the run never trains on), augmented as in training, without gradient; weights, optimiser
   * and the data order of the trained epochs are untouched.
   */
  async preciseBatchNorm(): Promise<void> {
    const { config, rank, micro, device } = this.plan;
    if (config.preciseBn === undefined) return;
    const model = this.model;
    let epoch = config.epochs;
    let batches = this.batchesOf(epoch, 0);
    // one forward per micro-batch: the statistics of the batch size the training forwards saw
    const pending: [TrainBatch, number, number][] = [];
    const nextForward = async (): Promise<[TrainBatch, number, number]> => {
      while (pending.length === 0) {
        const r = await batches.next();
        if (r.done) batches = this.batchesOf(++epoch, 0);
        else for (const [start, n] of microBatches(r.value.count, micro, null)) pending.push([r.value, start, n]);
      }
      return pending.shift()!;
    };
    torch.manualSeed(hashKey([config.seed, config.epochs, rank])); // dropout draws of the pass: a function of the seed
    try {
      await preciseBatchNorm(model, config.preciseBn.batches, async () => {
        const [batch, start, n] = await nextForward();
        torch.tidy(() =>
          torch.noGrad(() => {
            const { x, aux } = this.inputsOf(batch, start, n);
            withPrecision(config.precision, device, () => methodForward(model, x, aux));
            return null;
          }),
        );
      });
    } finally {
      await batches.return(undefined); // stops the loads still in flight
    }
  }

  /** The model's inputs for samples [start, start + n) of a batch, on the run's device (inside a tidy scope). */
  private inputsOf(batch: TrainBatch, start: number, n: number): { x: Tensor; aux: Record<string, Tensor> } {
    const { config, device } = this.plan;
    const S = batch.size;
    let x = batchToDevice(torch.fromTypedArray(batch.images.subarray(start * 3 * S * S, (start + n) * 3 * S * S), [n, 3, S, S]), device);
    if (config.channelsLast) x = x.contiguous('channelsLast');
    return { x, aux: auxiliaryTensors(this.model, batch, start, n, device) };
  }

  /** Validates at the end of every valEveryEpochs-th epoch; returns the pixel mIoU then, else null. */
  async maybeValidate(): Promise<number | null> {
    const { config, perEpoch, group } = this.plan;
    const step = this.stepCount;
    if (step % perEpoch !== 0 || (step / perEpoch) % config.run.valEveryEpochs !== 0) return null;
    const validation = await validate(this.model, config, this.pool, group, (s) => void this.skip(s));
    this.validation = validation;
    const mIoU = validation.official.mIoU;
    if (this.bestMIoU === null || mIoU > this.bestMIoU) this.bestMIoU = mIoU;
    await this.log({ event: 'validation', step, epoch: step / perEpoch, ...validation.official });
    this.emit({ kind: 'validation', step, epoch: step / perEpoch, metrics: validation.official, images: validation.counts.images });
    return mIoU;
  }

  /** Writes a checkpoint when one is due (epoch or step period, the last step, a validation), and the best one. */
  async maybeCheckpoint(mIoU: number | null): Promise<void> {
    const { config, perEpoch, totalSteps, world, runDir } = this.plan;
    const step = this.stepCount;
    const due =
      (step % perEpoch === 0 && (step / perEpoch) % config.run.checkpointEveryEpochs === 0) ||
      (config.run.checkpointEverySteps > 0 && step % config.run.checkpointEverySteps === 0);
    if (!(due || step === totalSteps || mIoU !== null) || this.emptyStep) return;
    // a step can overflow the weights with finite gradients (a huge rate): such weights are never saved;
    // every rank checks (their parameters are equal), so all stop together
    if (Number.isNaN(nonFiniteProbe(this.model.parameters()))) throw new DivergedError(step, 'the parameters', Number.NaN);
    if (!this.lead) return;
    const ckptDir = join(runDir, 'checkpoints');
    const state: CheckpointState = {
      step,
      epoch: Math.floor(step / perEpoch),
      seed: config.seed,
      rng: RNG_SCHEME,
      mIoU,
      bestMIoU: this.bestMIoU,
      worldSize: world,
      savedAt: new Date().toISOString(),
      ...(this.scaler.enabled ? { scaler: this.scaler.stateDict() } : {}),
    };
    const fileMetadata = modelFileMetadata(this.model);
    const companion = this.synthesis?.companion ?? null;
    const path = await saveCheckpoint(ckptDir, stepName(step), this.model, this.optimizer, state, fileMetadata, companion);
    this.lastCheckpoint = path;
    await pruneCheckpoints(ckptDir, config.run.keepLast);
    const best = mIoU !== null && mIoU === this.bestMIoU;
    if (best) await saveCheckpoint(ckptDir, 'best', this.model, this.optimizer, state, fileMetadata, companion);
    await this.log({ event: 'checkpoint', step, path, best });
    this.emit({ kind: 'checkpoint', step, path, best });
  }

  /**
   * Stops the sample workers unless the caller lent them, frees the model and the optimiser state,
   * and releases the folder (idempotent; `train` calls it on every exit). Freed now rather than by
   * GC, their memory is what the next run in this process allocates again, without page faults.
   */
  async close(): Promise<void> {
    try {
      if (this.plan.opts.pool === undefined) await this.pool.close();
    } finally {
      for (const o of [this.optimizer, this.synthesis?.optimizer]) o?.dispose();
      for (const m of [this.model, this.synthesis?.policy]) m?.dispose();
      await this.lock?.release();
    }
  }

  /** Logs the end of the run and returns its summary. */
  async finish(): Promise<TrainSummary> {
    const seconds = (performance.now() - this.t0) / 1000;
    const step = this.stepCount;
    await this.log({ event: 'done', step, seconds, skipped: this.skippedTotal });
    this.emit({ kind: 'done', step, seconds, skipped: this.skippedTotal });
    return {
      runDir: this.plan.runDir,
      step,
      lastCheckpoint: this.lastCheckpoint,
      validation: this.validation,
      bestMIoU: this.bestMIoU,
      skipped: this.skippedTotal,
      notes: this.notes,
    };
  }

  /**
   * SLADD's official step (src/train/sladd.ts): detector and policy each take one step; returns the
   * detector's loss terms and the policy's (`synthesizer`). A non-finite term stops the run before
   * any checkpoint holds the step's weights.
   */
  private async synthesizerStep(synthesis: SladdSynthesis, batch: TrainBatch, lr: number): Promise<Record<string, number>> {
    const { config, rank } = this.plan;
    torch.manualSeed(hashKey([config.seed, this.stepCount, rank])); // dropout draws depend on the step alone: exact resume
    const losses = await synthesis.step(this.model, this.optimizer, batch, lr, this.stepCount, rank);
    const bad = Object.keys(losses).find((k) => !Number.isFinite(losses[k]));
    if (bad !== undefined) throw new DivergedError(this.stepCount + 1, `loss term '${bad}'`, losses[bad]);
    return losses;
  }

  /**
   * One optimiser step over the (local) batch, accumulated over micro-batches; returns the loss
   * terms. Batches are built on the CPU and copied to the device; the loss terms are summed on
   * the device and read in one host copy per step (plus the scaler's inf/NaN check under fp16).
   */
  private optimiserStep(batch: TrainBatch): Record<string, number> {
    const { config, rank, group, device, micro, localBatch } = this.plan;
    const { model, optimizer, scaler } = this;
    torch.manualSeed(hashKey([config.seed, this.stepCount, rank])); // dropout draws depend on the step alone: exact resume
    model.train();
    optimizer.zeroGrad();
    const S = batch.size;
    let keys: string[] = [];
    let sums: Tensor | null = null;
    for (const [start, n] of microBatches(batch.count, micro, group !== null && config.distributed.syncBn ? localBatch : null)) {
      const frac = n / batch.count;
      const accumulated: Tensor = torch.tidy(() => {
        const { x, aux } = this.inputsOf(batch, start, n);
        const segmentation = batchToDevice(torch.fromTypedArray(batch.targets.subarray(start * S * S, (start + n) * S * S), [n, S, S]), device);
        const label = batchToDevice(torch.fromTypedArray(batch.labels.subarray(start, start + n), [n]), device);
        const { terms, total } = withPrecision(config.precision, device, () => {
          const l = model.losses(methodForward(model, x, aux), { segmentation, label, image: x });
          return {
            terms: this.definition.lossTerms.filter((k) => l[k] !== undefined).map((k) => [k, l[k]] as const),
            total: weightedTotal(l, this.definition, model.config, config.losses),
          };
        });
        scaler.scale(frac === 1 ? total : total.mul(frac)).backward();
        keys = [...terms.map(([k]) => k), 'total'];
        const values = torch.stack([...terms.map(([, t]) => t.detach().float()), total.detach().float()]).mul(frac);
        return sums === null ? values : sums.add(values);
      });
      sums?.dispose();
      sums = accumulated;
    }
    // without a scaler (fp32, bf16) a gradient probe (NaN iff a gradient is inf/NaN) rides in the losses' one host copy
    const packed = scaler.enabled ? sums! : torch.tidy(() => torch.cat([sums!, gradientProbe(model).reshape(1)]));
    const host = toHost(packed); // the step's one host copy of its losses
    const values = Array.from(host.toTypedArray() as Float32Array);
    host.dispose();
    if (packed !== sums) packed.dispose();
    sums!.dispose();
    const probe = scaler.enabled ? 0 : values[keys.length];
    let losses = Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    let gradients = probe;
    if (group !== null) {
      group.allReduceGradients(model);
      // the logged terms are the global batch's: the mean of the ranks' (equal-weight) local means;
      // a NaN on any rank makes every rank's sums NaN, so all ranks stop at the same step
      const totals = group.allReduceNumbers([...keys.map((k) => losses[k]), probe]);
      losses = Object.fromEntries(keys.map((k, i) => [k, totals[i] / group.worldSize]));
      gradients = totals[keys.length];
    }
    if (!scaler.enabled) {
      // fail closed before the update: the weights stay those of the last finite step (fp16: the scaler skips such steps)
      const bad = keys.find((k) => !Number.isFinite(losses[k]));
      if (bad !== undefined) throw new DivergedError(this.stepCount + 1, `loss term '${bad}'`, losses[bad]);
      if (Number.isNaN(gradients)) throw new DivergedError(this.stepCount + 1, 'a gradient', Number.NaN);
    }
    scaler.step(optimizer);
    scaler.update();
    return losses;
  }
}

/** The batch's auxiliary inputs of samples [start, start + n) that the model reads, on `device` (none for most methods). */
function auxiliaryTensors(model: MethodModel, batch: TrainBatch, start: number, n: number, device: Device): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const arrays: Readonly<Record<string, Float32Array>> = batch.aux ?? {};
  for (const spec of model.auxiliaryInputs ?? []) {
    const data = arrays[spec.name];
    if (data === undefined) continue; // the method refuses the forward, naming what is missing
    const per = data.length / batch.count;
    out[spec.name] = batchToDevice(torch.fromTypedArray(data.subarray(start * per, (start + n) * per), spec.shape(n, batch.size, batch.size)), device);
  }
  return out;
}

/** Loads the newest checkpoint into the model, optimiser and scaler after checking it belongs to this config and process count. */
async function resumeState(
  plan: RunPlan,
  last: string,
  model: MethodModel,
  optimizer: Optimizer<{ lr: number }>,
  scaler: GradScaler,
  synthesis: SladdSynthesis | null,
): Promise<{ step: number; bestMIoU: number | null }> {
  const configPath = join(plan.runDir, 'config.json');
  const saved = JSON.parse(await readFile(configPath, 'utf8').catch(() => 'null')) as TrainConfig | null;
  if (saved !== null && !isDeepStrictEqual(trajectory(withMethod(saved)), trajectory(plan.config))) {
    throw new CheckpointError(
      configPath,
      'was written for another configuration (method, model, data, optimiser, batch or seed differ)',
      "resume with the run's own config.json, or start a new run folder",
    );
  }
  await checkDataList(plan.runDir, dataListRecord(plan.list), plan.config.data.manifest ?? plan.config.data.root!);
  const state = await loadCheckpoint(last, model, optimizer, synthesis?.companion ?? null);
  if (state.worldSize !== plan.world) {
    // different process counts see different sample orders; refuse rather than silently diverge
    throw new CheckpointError(last, `was written by ${state.worldSize} process(es), this run has ${plan.world}`, 'resume with the same --nproc');
  }
  if (state.scaler !== undefined) scaler.loadStateDict(state.scaler);
  return { step: state.step, bestMIoU: state.bestMIoU };
}

/** A config.json written before configs named their method trained MSCCNet. */
function withMethod(saved: TrainConfig): TrainConfig {
  return saved.method === undefined ? { ...saved, method: 'msccnet' } : saved;
}
