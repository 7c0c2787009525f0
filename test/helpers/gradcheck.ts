/**
 * Central finite differences in float64, against libtorch's autograd. A non-scalar output y
 * is projected on fixed random weights r (loss = Σ y·r), so every output element counts.
 */
import { torch, type Tensor } from '../../src/torch/index.js';

export interface GradcheckResult {
  maxAbsError: number;
  maxRelError: number;
  checked: number;
  failures: string[];
}

/** Deterministic pseudo-random numbers in [-1, 1) (a test's inputs must not depend on libtorch's RNG). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

export function randomInput(shape: number[], rand: () => number, map: (v: number) => number = (v) => v): { shape: number[]; data: Float64Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => map(rand())) };
}

/**
 * Checks d(Σ f(inputs)·r)/d(input) for every input element: |analytic − numeric| ≤ atol + rtol·|numeric|
 * (torch.autograd.gradcheck's default tolerances).
 */
export function gradcheck(
  f: (xs: Tensor[]) => Tensor,
  inputs: { shape: number[]; data: Float64Array }[],
  opts: { eps?: number; atol?: number; rtol?: number; seed?: number } = {},
): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  return torch.tidy(() => {
    const probe = torch.noGrad(() => f(inputs.map((i) => torch.tensor(i.data, i.shape))));
    const rand = lcg(opts.seed ?? 99);
    const r = torch.tensor(
      Float64Array.from({ length: probe.numel }, () => rand()),
      probe.shape,
    );
    const project = (y: Tensor) => y.mul(r).sum();
    const xs = inputs.map((i) => torch.tensor(i.data, i.shape, { requiresGrad: true }));
    project(f(xs)).backward();
    const analytic = xs.map((x) => (x.grad === null ? new Float64Array(x.numel) : (x.grad.toTypedArray() as Float64Array)));
    let maxAbsError = 0;
    let maxRelError = 0;
    let checked = 0;
    const failures: string[] = [];
    inputs.forEach((input, k) => {
      for (let j = 0; j < input.data.length; j++) {
        const value = (delta: number) =>
          torch.tidy(() =>
            torch.noGrad(() => {
              const perturbed = inputs.map((i, m) => {
                if (m !== k) return torch.tensor(i.data, i.shape);
                const d = Float64Array.from(i.data);
                d[j] += delta;
                return torch.tensor(d, i.shape);
              });
              return project(f(perturbed)).item();
            }),
          );
        const numeric = (value(eps) - value(-eps)) / (2 * eps);
        const err = Math.abs(analytic[k][j] - numeric);
        maxAbsError = Math.max(maxAbsError, err);
        maxRelError = Math.max(maxRelError, err / Math.max(Math.abs(numeric), 1e-12));
        checked++;
        if (err > atol + rtol * Math.abs(numeric) && failures.length < 5) {
          failures.push(`input ${k} element ${j}: analytic ${analytic[k][j]}, numeric ${numeric}`);
        }
      }
    });
    return { maxAbsError, maxRelError, checked, failures };
  });
}
