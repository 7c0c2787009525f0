/** What a run walks: its sample lists, each epoch's order across processes, the steps of a run and the micro-batches of a step. */
import type { TrainConfig } from './config.js';
import { pairedTrainList, readManifestSamples, readReferenceLayout, type Sample, type SampleList } from '../samples/dataset.js';
import { DatasetError } from '../samples/errors.js';
import { Rng } from '../samples/rng.js';
import { dataListRecord, type DataListRecord } from './data-list.js';

/** Samples of a split as the config selects them (manifest or reference layout). */
export async function loadSplit(config: TrainConfig, split: string): Promise<SampleList> {
  const o = { split, compression: config.data.compression, methods: config.data.methods };
  if (config.data.manifest !== null) return readManifestSamples(config.data.manifest, o);
  return readReferenceLayout(config.data.root!, o);
}

/** The per-epoch sample order of one process: DistributedSampler(shuffle) with our seeded permutation. */
export function epochOrder(n: number, seed: number, epoch: number, rank: number, worldSize: number): Uint32Array {
  const perm = new Rng(seed, epoch).permutation(n);
  const perRank = Math.ceil(n / worldSize);
  const out = new Uint32Array(perRank);
  for (let i = 0; i < perRank; i++) out[i] = perm[(rank + i * worldSize) % n]; // padded by wrapping, as the sampler
  return out;
}

/** Step at which each epoch's batches are counted; iters per epoch = ⌊⌈N/world⌉ / local batch⌋ (drop_last). */
export function stepsPerEpoch(n: number, localBatch: number, worldSize: number): number {
  return Math.floor(Math.ceil(n / worldSize) / localBatch);
}

/** The training split of a config and the list an epoch walks (official: each fake followed by its real). */
export async function trainingList(config: TrainConfig): Promise<{ listed: SampleList; list: Sample[] }> {
  const listed = await loadSplit(config, config.data.trainSplit);
  return { listed, list: config.data.pairReals ? pairedTrainList(listed.samples) : listed.samples };
}

/** The record of the list `train(config)` trains on (see data-list.ts), for checking a finished run's data. */
export async function trainingDataRecord(config: TrainConfig): Promise<DataListRecord> {
  return dataListRecord((await trainingList(config)).list);
}

/** Optimiser steps `train(config)` will take from scratch on one process (for progress totals before training starts). */
export async function plannedSteps(config: TrainConfig): Promise<number> {
  return runSteps(config, stepsPerEpoch((await trainingList(config)).list.length, config.batchSize, 1));
}

/** Every epoch's steps, or run.maxSteps when set and smaller. */
export function runSteps(config: TrainConfig, perEpoch: number): number {
  const all = config.epochs * perEpoch;
  return config.run.maxSteps > 0 ? Math.min(config.run.maxSteps, all) : all;
}

/**
 * [start, size] of the forward passes over a batch of `count` samples. Synchronised BatchNorm
 * runs collectives in every pass, so every rank must make the same number of passes even when
 * skipped files shrank its batch: with `fullBatch` the passes are always fullBatch / micro,
 * their sizes spread evenly over what is there.
 */
export function microBatches(count: number, micro: number, fullBatch: number | null): [start: number, size: number][] {
  const passes = fullBatch === null ? Math.ceil(count / micro) : fullBatch / micro;
  if (count < passes) {
    throw new DatasetError(
      `${fullBatch! - count} of ${fullBatch} samples of a batch were skipped, leaving fewer than its ${passes} synchronised passes`,
      'fix or remove the unreadable files listed in log.jsonl, or train with a larger microBatch',
    );
  }
  const out: [number, number][] = [];
  if (fullBatch === null) {
    for (let start = 0; start < count; start += micro) out.push([start, Math.min(micro, count - start)]);
    return out;
  }
  for (let k = 0, start = 0; k < passes; k++) {
    const n = Math.floor(count / passes) + (k < count % passes ? 1 : 0);
    out.push([start, n]);
    start += n;
  }
  return out;
}
