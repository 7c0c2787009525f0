import type { Module } from '../nn/index.js';

/** Number of trainable parameters (buffers such as BN statistics and the DCT filters excluded). */
export function parameterCount(model: Module): number {
  let count = 0;
  for (const [, p] of model.namedParameters()) count += p.shape.reduce((a, b) => a * b, 1);
  return count;
}
