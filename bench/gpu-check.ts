/**
 * The GPU check of issue 14, run by scripts/gpu-check (bundled with esbuild, on a GPU machine
 * with PyTorch) or here with `--tiny --device cpu` (its dry run). Prints one JSON line per check:
 *
 *   parity-eval        the msccnet-128 fixture model's eval outputs on the device vs the fixture
 *   parity-train-step  one official SGD step (msccnet-128-train) on the device vs the fixture
 *   train-step         the MSCCNet training step (side², batch) per precision, ours and plain
 *                      PyTorch (bench/pytorch/msccnet.py) on the same device, interleaved step by
 *                      step, with each one's peak GPU memory; targets: ours ≤ 1.05× PyTorch, peak ≤ PyTorch's
 *   bf16-speedup       fp32 step time / bf16 step time; target ≥ 1.8
 *   inference          eval forwards, images/s (side², inference batch), ours and PyTorch
 *   summary            which checks passed, failed or could not run, and the seconds taken
 *
 * Tolerances are the CPU tests' (test/helpers/msccnet-fixtures.ts). A check that cannot run
 * (no PyTorch, a precision not wired) prints its error and the others go on.
 */
import { parseArgs } from 'node:util';
import { torch, type Precision } from '../src/torch/index.js';

import { FULL, TINY, TARGETS, type GpuCheckOptions, type Line } from './gpu-check/common.js';
import { parityEval, parityTrainStep } from './gpu-check/parity.js';
import { inference, trainStep, type Timing } from './gpu-check/speed.js';

/** Runs every check, printing each line as it is done; returns the lines. */
export async function runGpuCheck(o: GpuCheckOptions, print: (line: Line) => void): Promise<Line[]> {
  const t0 = performance.now();
  const lines: Line[] = [];
  const emit = (line: Line): void => {
    lines.push(line);
    print(line);
  };
  const attempt = async (check: string, fn: () => Line | Promise<Line>, precision?: Precision): Promise<Line | null> => {
    const tag = precision === undefined ? {} : { precision };
    if ((performance.now() - t0) / 1000 > o.budgetSeconds) {
      emit({ check, device: o.device, ...tag, skipped: `over the ${o.budgetSeconds} s budget` });
      return null;
    }
    try {
      const line = await fn();
      emit(line);
      return line;
    } catch (err) {
      emit({ check, device: o.device, ...tag, error: err instanceof Error ? err.message : String(err) });
      return null;
    }
  };
  emit({ check: 'environment', device: o.device, cudaDevices: torch.cuda.deviceCount(), options: o });
  await attempt('parity-eval', () => parityEval(o));
  await attempt('parity-train-step', () => parityTrainStep(o));
  const steps = new Map<Precision, Line & { ours: Timing | null; pytorch: Timing | null }>();
  for (const precision of o.precisions) {
    const line = await attempt('train-step', () => trainStep(o, precision), precision);
    if (line !== null) steps.set(precision, line as Line & { ours: Timing | null; pytorch: Timing | null });
  }
  const fp32 = steps.get('fp32');
  const bf16 = steps.get('bf16');
  if (fp32 !== undefined && bf16 !== undefined) {
    const speedup = (a: Timing | null, b: Timing | null): number | null => (a === null || b === null ? null : a.msPerStep / b.msPerStep);
    const ours = speedup(fp32.ours, bf16.ours);
    emit({
      check: 'bf16-speedup',
      device: o.device,
      ours,
      pytorch: speedup(fp32.pytorch, bf16.pytorch),
      target: `≥ ${TARGETS.bf16Speedup}`,
      pass: ours === null ? null : ours >= TARGETS.bf16Speedup,
    });
  }
  for (const precision of o.precisions) await attempt('inference', () => inference(o, precision), precision);
  const verdicts = lines.filter((l) => l.check !== 'environment');
  const label = (l: Line): string => `${l.check}${typeof l.precision === 'string' ? `:${l.precision}` : ''}`;
  const passed = (l: Line): boolean | null => {
    if (typeof l.pass === 'boolean') return l.pass;
    if (l.pass !== null && typeof l.pass === 'object') {
      const vs = Object.values(l.pass as Record<string, boolean | null>).filter((v): v is boolean => v !== null);
      return vs.length === 0 ? null : vs.every(Boolean);
    }
    return null;
  };
  emit({
    check: 'summary',
    device: o.device,
    passed: verdicts.filter((l) => passed(l) === true).map(label),
    failed: verdicts.filter((l) => passed(l) === false).map(label),
    errors: verdicts.filter((l) => 'error' in l).map(label),
    skipped: verdicts.filter((l) => 'skipped' in l).map(label),
    seconds: (performance.now() - t0) / 1000,
  });
  return lines;
}

/** `gpu-check.mjs [--tiny] [--device D] [--fixtures DIR] [--python PY] [--pytorch-script F] [--precisions fp32,bf16]` */
export function parseGpuCheckArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): GpuCheckOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tiny: { type: 'boolean', default: false },
      device: { type: 'string', default: 'cuda:0' },
      fixtures: { type: 'string', default: env.MSCCNET_FIXTURES ?? '../shared/fixtures' },
      python: { type: 'string', default: env.PYTHON ?? 'python3' },
      'pytorch-script': { type: 'string', default: 'bench/pytorch/msccnet.py' },
      precisions: { type: 'string', default: 'fp32,bf16' },
      'budget-seconds': { type: 'string', default: '330' },
    },
  });
  const precisions = values.precisions.split(',').filter((p): p is Precision => p === 'fp32' || p === 'bf16' || p === 'fp16');
  return {
    device: torch.device(values.device),
    fixtures: values.fixtures,
    python: values.python,
    pytorchScript: values['pytorch-script'],
    precisions,
    budgetSeconds: Number(values['budget-seconds']),
    ...(values.tiny ? TINY : FULL),
  };
}

const isMain = process.argv[1] !== undefined && /gpu-check\.(ts|mjs)$/.test(process.argv[1]);
if (isMain) {
  await runGpuCheck(parseGpuCheckArgs(process.argv.slice(2)), (line) => console.log(JSON.stringify(line)));
}
