/**
 * Checkpoints of a run: one folder per checkpoint, `model.safetensors` (the state dict with its
 * official names), `optimizer.safetensors` (momentum buffers; hyper-parameters in its metadata)
 * and `state.json` (step, epoch, seeds, best metric). A folder is written under a temporary name
 * and renamed, so a crash never leaves a half checkpoint. The random state needs no snapshot:
 * data order, augmentation and dropout seeds are derived from (seed, epoch, step), so the
 * step number restores them exactly.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GradScalerState, Module, Optimizer, OptimizerState } from '../nn/index.js';
import { loadSafetensors, saveSafetensors } from '../nn/index.js';
import { cpuCopies, torch } from '../torch/index.js';
import { isTempName, tempPath, writeFileAtomic } from '../io/atomic.js';
import { CheckpointError } from './errors.js';

export interface CheckpointState {
  /** optimiser steps done */
  readonly step: number;
  readonly epoch: number;
  readonly seed: number;
  /** how every random stream is derived from (seed, epoch, step, rank) */
  readonly rng: string;
  /** validation pixel mIoU of this checkpoint's weights, when validated */
  readonly mIoU: number | null;
  /** best validation mIoU so far in the run */
  readonly bestMIoU: number | null;
  readonly worldSize: number;
  readonly savedAt: string;
  /** the fp16 gradient scaler's state (GradScaler.state_dict() names), in fp16 runs */
  readonly scaler?: GradScalerState;
}

export const RNG_SCHEME = 'derived-v1: order=Rng(seed,epoch) augment=Rng(seed,epoch,position) torch.manualSeed(hashKey(seed,step,rank))';

export const stepName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/**
 * A second trained network of the run beside the model (SLADD's synthesizer policy): its weights
 * and optimiser go into `<name>.safetensors` and `<name>-optimizer.safetensors` of each checkpoint.
 */
export interface CheckpointCompanion {
  readonly name: string;
  readonly model: Module;
  readonly optimizer: Optimizer<{ lr: number }>;
}

/** Writes `<file>.safetensors` and `<optimizerFile>.safetensors` into `dir`, from CPU copies (so a run saved on a GPU resumes anywhere). */
async function writeWeights(
  dir: string,
  files: { model: string; optimizer: string },
  model: Module,
  optimizer: Optimizer<{ lr: number }>,
  modelMetadata: Readonly<Record<string, string>>,
): Promise<void> {
  const opt = optimizer.stateDict();
  const own = model.stateDict();
  const weights = cpuCopies(own);
  const optState = cpuCopies(opt.tensors);
  try {
    // tensor by tensor (saveSafetensors): atomic and flushed, never a checkpoint-sized buffer
    await saveSafetensors(join(dir, files.model), weights, { format: 'pt', ...modelMetadata });
    await saveSafetensors(join(dir, files.optimizer), optState, { paramGroups: JSON.stringify(opt.paramGroups) });
  } finally {
    for (const [k, t] of weights) if (t !== own.get(k)) t.dispose();
    for (const [k, t] of optState) if (t !== opt.tensors.get(k)) t.dispose();
  }
}

/**
 * Writes checkpoint folder `dir/name` atomically (replacing an existing one of that name).
 * `modelMetadata` goes into model.safetensors (the model config: models/model-file.ts).
 */
export async function saveCheckpoint(
  dir: string,
  name: string,
  model: Module,
  optimizer: Optimizer<{ lr: number }>,
  state: CheckpointState,
  modelMetadata: Readonly<Record<string, string>> = {},
  companion: CheckpointCompanion | null = null,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  // the folder swap: files written flushed into a temp folder, which is renamed over the target
  const tmp = tempPath(target);
  await mkdir(tmp);
  try {
    await writeWeights(tmp, { model: 'model.safetensors', optimizer: 'optimizer.safetensors' }, model, optimizer, modelMetadata);
    if (companion !== null) {
      const files = { model: `${companion.name}.safetensors`, optimizer: `${companion.name}-optimizer.safetensors` };
      await writeWeights(tmp, files, companion.model, companion.optimizer, {});
    }
    await writeFileAtomic(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`, { fsync: true });
  } catch (err) {
    // a failed write (full disk, file-size limit) leaves neither a half checkpoint nor its temp folder
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const old = tempPath(target);
  const existed = await rename(target, old).then(
    () => true,
    () => false,
  );
  await rename(tmp, target);
  if (existed) await rm(old, { recursive: true, force: true });
  return target;
}

/**
 * Cuts a run's log.jsonl back to the checkpoint a resume starts from: everything after that
 * checkpoint's own record (the killed run's later steps, skips and a half-written last line) is
 * dropped, so the resumed run's records follow without duplicated steps. Without that record
 * (a log edited by hand), records of later steps and unreadable lines are dropped.
 */
export async function truncateLog(path: string, step: number): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return;
  const lines = text.split('\n').filter((l) => l !== '');
  const records = lines.map((l): { event?: unknown; step?: unknown } | null => {
    try {
      return JSON.parse(l) as { event?: unknown; step?: unknown };
    } catch {
      return null;
    }
  });
  const cut = records.findLastIndex((r) => r?.event === 'checkpoint' && r.step === step);
  const kept =
    cut >= 0
      ? lines.slice(0, cut + 1)
      : lines.filter((_, i) => records[i] !== null && !(typeof records[i]!.step === 'number' && (records[i]!.step as number) > step));
  if (kept.length === lines.length && text.endsWith('\n')) return;
  await writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
}

/** An optimiser's state from its safetensors file (hyper-parameters in its metadata). */
async function loadOptimizer(file: string, optimizer: Optimizer<{ lr: number }>): Promise<void> {
  const opt = await loadSafetensors(file);
  const groups = JSON.parse(opt.metadata.paramGroups ?? '[]') as OptimizerState['paramGroups'];
  optimizer.loadStateDict({ tensors: opt.tensors, paramGroups: groups });
  torch.dispose([...opt.tensors.values()]);
}

/** Step checkpoints of a run folder, oldest first. */
export async function listCheckpoints(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => /^step-\d{8}$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** Removes all but the newest `keep` step checkpoints. */
export async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(dir);
  for (const p of all.slice(0, Math.max(0, all.length - keep))) await rm(p, { recursive: true, force: true });
}

/** What a run folder holds for `train`: the checkpoint to resume from, and what was done to get there. */
export interface RunFolder {
  /** the newest complete step checkpoint (with --resume), else null */
  readonly resumeFrom: string | null;
  /** what `openRunFolder` did or decided, for the run's log and summary (fallbacks, removals) */
  readonly notes: readonly string[];
}

/** Files of a run that a new run would mix with (its log appends, its pruning counts old steps). */
const RUN_FILES = ['config.json', 'data.json', 'log.jsonl', 'checkpoints'] as const;

/**
 * Prepares `runDir` for `train`: removes temporary checkpoint folders a killed run left; refuses a
 * folder that holds another run unless `resume` (continue it) or `overwrite` (its config, log and
 * checkpoints are removed first); with `resume`, picks the newest *complete* checkpoint, noting
 * each newer one that is not. `lead`: only the writing process cleans and removes.
 */
export async function openRunFolder(runDir: string, o: { resume: boolean; overwrite: boolean; lead: boolean }): Promise<RunFolder> {
  const ckptDir = join(runDir, 'checkpoints');
  const notes: string[] = [];
  if (o.resume && o.overwrite) throw new CheckpointError(runDir, '--resume and --overwrite contradict each other', 'pass one of them');
  if (o.lead) {
    // also the `.tmp-*` / `*.old-*` folders of runs interrupted before the one temp-name scheme
    const stale = (await readdir(ckptDir).catch(() => [] as string[])).filter((n) => isTempName(n) || /^\.tmp-|\.old-[0-9a-f]+$/.test(n));
    for (const n of stale) await rm(join(ckptDir, n), { recursive: true, force: true });
    if (stale.length > 0) notes.push(`removed ${stale.length} temporary checkpoint folder(s) of an interrupted run: ${stale.join(', ')}`);
  }
  if (o.resume) {
    const all = await listCheckpoints(ckptDir);
    const skipped: string[] = [];
    for (const path of [...all].reverse()) {
      const missing = await incomplete(path);
      if (missing === null) {
        if (skipped.length > 0) notes.push(`${skipped.join('; ')}: resuming from ${path}, the newest complete checkpoint`);
        return { resumeFrom: path, notes };
      }
      skipped.push(`${path} is incomplete (${missing})`);
    }
    throw new CheckpointError(
      ckptDir,
      all.length === 0 ? 'holds no step checkpoint' : 'holds no complete step checkpoint',
      'start without --resume (with --overwrite if the folder holds files of the old run)',
    );
  }
  // only the writing process judges the folder: the others may already see the files it has just written
  if (!o.lead) return { resumeFrom: null, notes };
  const present = [];
  for (const f of RUN_FILES)
    if (
      await stat(join(runDir, f)).then(
        () => true,
        () => false,
      )
    )
      present.push(f);
  if (present.length > 0) {
    if (!o.overwrite) {
      throw new CheckpointError(
        runDir,
        `holds another run (${present.join(', ')})`,
        'pass --resume to continue it, --overwrite to replace it, or set run.dir to a new folder',
      );
    }
    for (const f of present) await rm(join(runDir, f), { recursive: true, force: true });
    notes.push(`--overwrite: removed the previous run's ${present.join(', ')}`);
  }
  return { resumeFrom: null, notes };
}

/** Why a checkpoint folder cannot be loaded (a file missing, unreadable or cut short), or null when it can. */
async function incomplete(path: string): Promise<string | null> {
  try {
    JSON.parse(await readFile(join(path, 'state.json'), 'utf8'));
  } catch {
    return 'no readable state.json';
  }
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    const size = await stat(join(path, f)).then(
      (s) => s.size,
      () => null,
    );
    if (size === null) return `no ${f}`;
    // safetensors: an 8-byte header length N, N bytes of JSON, then the data; a cut file is shorter than its header says
    const fh = await open(join(path, f), 'r');
    try {
      const head = Buffer.alloc(8);
      await fh.read(head, 0, 8, 0);
      const n = Number(head.readBigUInt64LE(0));
      if (size < 8 + n) return `${f} is cut short`;
      const header = Buffer.alloc(n);
      await fh.read(header, 0, n, 8);
      const entries = Object.values(JSON.parse(header.toString('utf8')) as Record<string, { data_offsets?: [number, number] }>);
      const end = Math.max(0, ...entries.map((e) => e.data_offsets?.[1] ?? 0));
      if (size < 8 + n + end) return `${f} is cut short`;
    } catch {
      return `${f} is unreadable`;
    } finally {
      await fh.close();
    }
  }
  return null;
}

/** Loads a checkpoint folder into the model and optimiser; returns its state. */
export async function loadCheckpoint(
  path: string,
  model: Module,
  optimizer: Optimizer<{ lr: number }> | null,
  companion: CheckpointCompanion | null = null,
): Promise<CheckpointState> {
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(join(path, 'state.json'), 'utf8')) as CheckpointState;
  } catch (err) {
    throw new CheckpointError(path, 'has no readable state.json', 'resume from a folder written by `msccnet train`', { cause: err });
  }
  const weights = await loadSafetensors(join(path, 'model.safetensors')).catch((err: unknown) => {
    throw new CheckpointError(
      path,
      'has no readable model.safetensors',
      'resume from a complete checkpoint folder (with model.safetensors, optimizer.safetensors, state.json)',
      { cause: err },
    );
  });
  model.loadStateDict(weights.tensors);
  torch.dispose([...weights.tensors.values()]);
  if (optimizer !== null) await loadOptimizer(join(path, 'optimizer.safetensors'), optimizer);
  if (companion !== null) {
    const file = join(path, `${companion.name}.safetensors`);
    const own = await loadSafetensors(file).catch((err: unknown) => {
      throw new CheckpointError(
        path,
        `has no readable ${companion.name}.safetensors`,
        `this run trains a ${companion.name} beside the model: resume from a checkpoint written by such a run, or start a new run folder`,
        { cause: err },
      );
    });
    companion.model.loadStateDict(own.tensors);
    torch.dispose([...own.tensors.values()]);
    await loadOptimizer(join(path, `${companion.name}-optimizer.safetensors`), companion.optimizer);
  }
  return state;
}
