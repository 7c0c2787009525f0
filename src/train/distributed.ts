/**
 * What the trainer needs from a data-parallel process group. Implemented over libtorch's c10d
 * (see native/src/distributed.cc) when the addon provides it.
 */
import type { Module } from '../nn/index.js';

export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Copies rank 0's parameters and buffers to every rank (identical start). */
  broadcastParameters(model: Module): void;
  /** Replaces every parameter gradient by its mean over the ranks. */
  allReduceGradients(model: Module): void;
  /** Every rank's value, in rank order, on every rank (JSON-serialisable values). */
  allGatherJson<T>(value: T): Promise<T[]>;
  close(): Promise<void>;
}
