/**
 * Checkpoints of a run: one folder per checkpoint, `model.safetensors` (the state dict with its
 * official names), `optimizer.safetensors` (momentum buffers; hyper-parameters in its metadata)
 * and `state.json` (step, epoch, seeds, best metric). A folder is written under a temporary name
 * and renamed, so a crash never leaves a half checkpoint. The random state needs no snapshot:
 * data order, augmentation and dropout seeds are derived from (seed, epoch, step), so the
 * step number restores them exactly.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { GradScalerState, Module, Optimizer, OptimizerState } from '../nn/index.js';
import { encodeSafetensors, loadSafetensors } from '../nn/index.js';
import { cpuCopies, torch } from '../torch/index.js';
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

async function writeFileSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const stepName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** Writes checkpoint folder `dir/name` atomically (replacing an existing one of that name). */
export async function saveCheckpoint(dir: string, name: string, model: Module, optimizer: Optimizer<{ lr: number }>, state: CheckpointState): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${name}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  const opt = optimizer.stateDict();
  // written from CPU copies (explicit, one per tensor), so a run saved on a GPU resumes anywhere
  const own = model.stateDict();
  const weights = cpuCopies(own);
  const optState = cpuCopies(opt.tensors);
  try {
    await writeFileSynced(join(tmp, 'model.safetensors'), encodeSafetensors(weights, { format: 'pt' }));
    await writeFileSynced(join(tmp, 'optimizer.safetensors'), encodeSafetensors(optState, { paramGroups: JSON.stringify(opt.paramGroups) }));
  } finally {
    for (const [k, t] of weights) if (t !== own.get(k)) t.dispose();
    for (const [k, t] of optState) if (t !== opt.tensors.get(k)) t.dispose();
  }
  await writeFileSynced(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  const target = join(dir, name);
  const old = `${target}.old-${randomBytes(4).toString('hex')}`;
  const existed = await rename(target, old).then(() => true, () => false);
  await rename(tmp, target);
  if (existed) await rm(old, { recursive: true, force: true });
  return target;
}

/** Step checkpoints of a run folder, oldest first. */
export async function listCheckpoints(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => /^step-\d{8}$/.test(n)).sort().map((n) => join(dir, n));
}

/** Removes all but the newest `keep` step checkpoints. */
export async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(dir);
  for (const p of all.slice(0, Math.max(0, all.length - keep))) await rm(p, { recursive: true, force: true });
}

/** Loads a checkpoint folder into the model and optimiser; returns its state. */
export async function loadCheckpoint(path: string, model: Module, optimizer: Optimizer<{ lr: number }> | null): Promise<CheckpointState> {
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(join(path, 'state.json'), 'utf8')) as CheckpointState;
  } catch (err) {
    throw new CheckpointError(path, 'has no readable state.json', 'resume from a folder written by `msccnet train`', { cause: err });
  }
  const weights = await loadSafetensors(join(path, 'model.safetensors'));
  model.loadStateDict(weights.tensors);
  torch.dispose([...weights.tensors.values()]);
  if (optimizer !== null) {
    const opt = await loadSafetensors(join(path, 'optimizer.safetensors'));
    const groups = JSON.parse(opt.metadata.paramGroups ?? '[]') as OptimizerState['paramGroups'];
    optimizer.loadStateDict({ tensors: opt.tensors, paramGroups: groups });
    torch.dispose([...opt.tensors.values()]);
  }
  return state;
}
