/**
 * The official learning-rate schedule (`PolyScheduler`, official-spec §9): set before every
 * optimiser step, per iteration, with a floor:
 *   lr(it) = (base − min)·(1 − it/T)^power + min,   min = minLrRatio·base.
 * The paper's formula is the same without the floor (minLrRatio 0).
 */
export interface PolySchedule {
  /** base learning rate (official 0.009) */
  readonly lr: number;
  /** exponent (official 0.9) */
  readonly power: number;
  /** floor as a fraction of lr (official 0.01) */
  readonly minLrRatio: number;
  /** T = epochs · iterations per epoch */
  readonly maxIters: number;
}

export function polyLr(it: number, s: PolySchedule): number {
  const minLr = s.minLrRatio * s.lr;
  const progress = Math.min(it, s.maxIters) / s.maxIters;
  return (s.lr - minLr) * (1 - progress) ** s.power + minLr;
}
