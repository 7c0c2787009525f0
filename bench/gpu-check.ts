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
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SGD, loadSafetensors } from '../src/nn/index.js';
import { applyDetfill, detfillInput } from '../src/models/detfill.js';
import { MSCCNet, msccnetLosses, type MsccnetTargets } from '../src/models/msccnet/index.js';
import { cudaNative, torch, withPrecision, type Device, type Precision, type Tensor } from '../src/torch/index.js';
import {
  LOSS_KEYS,
  TRAIN_TOLERANCE,
  ZERO_GRAD_PARAM,
  absSum,
  compareOutputs,
  deltaTolerance,
  flat,
  gradTolerance,
  l2,
  readEvalExpected,
  readTrainFixture,
  rel,
} from '../test/helpers/msccnet-fixtures.js';

export interface GpuCheckOptions {
  device: Device;
  /** folder holding msccnet-128 and msccnet-128-train */
  fixtures: string;
  /** the Python with PyTorch, and bench/pytorch/msccnet.py */
  python: string;
  pytorchScript: string;
  side: number;
  batch: number;
  inferBatch: number;
  warmup: number;
  steps: number;
  precisions: Precision[];
  /** checks not started within this many seconds print `skipped` (the whole run must stay under 8 minutes) */
  budgetSeconds: number;
}

/** The issue's sizes: 512², training batch 16, inference batch 32. */
export const FULL = { side: 512, batch: 16, inferBatch: 32, warmup: 5, steps: 20 } as const;
/** The dry run's: small enough for CI's CPU (the JSON lines keep their shape). */
export const TINY = { side: 64, batch: 2, inferBatch: 2, warmup: 1, steps: 2 } as const;

export const TARGETS = { stepRatio: 1.05, bf16Speedup: 1.8 } as const;

type Line = Record<string, unknown> & { check: string };

const host = (t: Tensor): Float32Array => t.to('cpu').float().toTypedArray() as Float32Array;
const cudaIndex = (device: Device): number | null => (device === 'cpu' ? null : device === 'cuda' ? 0 : Number(device.slice(5)));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function synchronize(device: Device): void {
  if (device !== 'cpu') torch.cuda.synchronize();
}
function resetPeak(device: Device): void {
  const i = cudaIndex(device);
  if (i !== null) cudaNative().cudaResetPeakMemoryStats(i);
}
function peakBytes(device: Device): number | null {
  const i = cudaIndex(device);
  return i === null ? null : cudaNative().cudaMemoryStats(i).peakAllocated;
}

/** (a) eval outputs of the detfill model on the device vs msccnet-128 (README §6 tolerance: ratio ≤ 1). */
export function parityEval(o: GpuCheckOptions): Line {
  const expected = readEvalExpected(join(o.fixtures, 'msccnet-128'));
  const { input_size: size, batch } = expected;
  const model = new MSCCNet({ inputSize: size });
  try {
    applyDetfill(model, expected.offset_basis);
    model.eval();
    model.to(o.device);
    const out = torch.noGrad(() =>
      torch.tidy(() => {
        const x = torch.fromTypedArray(detfillInput(batch, size), [batch, 3, size, size]).to(o.device);
        let aux: Float32Array = new Float32Array(0);
        const y = model.forward(x, (name, value) => {
          if (name === 'mscc.fres_map_output') aux = host(value);
        });
        return { img: host(y.imgLogits), mask: host(y.maskLogits), aux };
      }),
    );
    const K = out.img.length / batch;
    const probFake = Array.from({ length: batch }, (_, n) => 1 / (1 + Math.exp(out.img[n * K] - out.img[n * K + 1])));
    const report = {
      img_logits: compareOutputs(out.img, flat(expected.img_logits)),
      prob_fake: compareOutputs(probFake, expected.prob_fake),
      mask_logits: compareOutputs(out.mask, flat(expected.mask_logits)),
      aux_map: compareOutputs(out.aux, flat(expected.aux_map)),
    };
    return {
      check: 'parity-eval',
      device: o.device,
      size,
      batch,
      outputs: report,
      tolerance: 'ratio ≤ 1: |a−b| ≤ 1e-4 + 1e-4·|b|',
      pass: Object.values(report).every((r) => r.ratio <= 1),
    };
  } finally {
    model.dispose();
  }
}

/** (a) one official SGD step on the device vs msccnet-128-train: losses, gradients, the step, the second forward. */
export async function parityTrainStep(o: GpuCheckOptions): Promise<Line> {
  const dir = join(o.fixtures, 'msccnet-128-train');
  const fixture = readTrainFixture(dir);
  const ref = fixture.float64;
  const { input_size: size, batch } = fixture;
  const model = new MSCCNet({ inputSize: size, dropout: 0 }); // the fixture disables Dropout2d (p = 0)
  const { tensors } = await loadSafetensors(join(dir, 'targets.safetensors'));
  try {
    applyDetfill(model, fixture.offset_basis);
    model.train();
    model.to(o.device);
    const targets: MsccnetTargets = { segmentation: tensors.get('target_segmentation')!.to(o.device), label: tensors.get('target_label')!.to(o.device) };
    const x = torch.fromTypedArray(detfillInput(batch, size), [batch, 3, size, size]).to(o.device);
    const tracked = Object.keys(ref.params);
    const params = new Map(model.namedParameters());
    const before = new Map(tracked.map((n) => [n, host(params.get(n)!)]));
    const losses = msccnetLosses(model.forward(x), targets, { auxLoss: model.config.auxLoss });
    const lossStep0 = Object.fromEntries(LOSS_KEYS.map((k) => [k, rel(losses[k]!.item(), ref.loss_step0[k])]));
    losses.total.backward();
    const gradNorm = Math.sqrt(torch.tidy(() => model.parameters().reduce((acc, p) => acc + p.grad!.double().pow(2).sum().item(), 0)));
    // worst error / its tolerance over the tracked parameters (≤ 1 passes), and which parameter
    let grads = { worst: 0, name: '' };
    for (const name of tracked) {
      if (name === ZERO_GRAD_PARAM) continue;
      const g = host(params.get(name)!.grad!);
      const r = ref.params[name].grad;
      const q = Math.max(rel(l2(g), r.l2), rel(absSum(g), r.abs_sum)) / gradTolerance(name);
      if (q > grads.worst) grads = { worst: q, name };
    }
    const { lr, momentum, weight_decay: weightDecay } = ref.optimizer;
    new SGD(model.parameters(), { lr, momentum, weightDecay }).step();
    let deltas = { worst: 0, name: '' };
    for (const name of tracked) {
      if (name === ZERO_GRAD_PARAM) continue;
      const after = host(params.get(name)!);
      const b = before.get(name)!;
      const delta = after.map((v, i) => v - b[i]);
      const r = ref.params[name].delta;
      const q = Math.max(rel(l2(delta), r.l2), rel(absSum(delta), r.abs_sum)) / deltaTolerance(name);
      if (q > deltas.worst) deltas = { worst: q, name };
    }
    const after = torch.noGrad(() => msccnetLosses(model.forward(x), targets, { auxLoss: true }));
    const lossAfter = Object.fromEntries(LOSS_KEYS.map((k) => [k, rel(after[k]!.item(), ref.loss_after_step[k])]));
    const gradNormRel = rel(gradNorm, ref.grad_global_l2_norm_all_params);
    const pass =
      Object.values(lossStep0).every((e) => e <= TRAIN_TOLERANCE.lossStep0) &&
      gradNormRel <= TRAIN_TOLERANCE.gradNorm &&
      grads.worst <= 1 &&
      deltas.worst <= 1 &&
      Object.values(lossAfter).every((e) => e <= TRAIN_TOLERANCE.lossAfterStep);
    return {
      check: 'parity-train-step',
      device: o.device,
      size,
      batch,
      lossStep0RelError: lossStep0,
      gradNormRelError: gradNormRel,
      gradWorstOverTolerance: grads,
      stepWorstOverTolerance: deltas,
      lossAfterStepRelError: lossAfter,
      tolerance: { ...TRAIN_TOLERANCE, gradsAndStep: 'worst ≤ 1 (per-parameter tolerance of test/models/msccnet-train.test.ts)' },
      pass,
    };
  } finally {
    model.dispose();
  }
}

/** bench/pytorch/msccnet.py as a child process: one JSON request per line, one answer per line. */
class PyTorchReference {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly ready: Record<string, unknown>,
  ) {}

  static async start(o: GpuCheckOptions, precision: Precision, threads: number): Promise<PyTorchReference> {
    const child = spawn(o.python, [o.pytorchScript, String(o.side), String(o.batch), String(threads), o.device, precision], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error(`${o.python} ${o.pytorchScript} exited: ${stderr.trim().split('\n').pop() ?? ''}`);
    return new PyTorchReference(child, lines, JSON.parse(first.value) as Record<string, unknown>);
  }

  async request(req: Record<string, unknown>): Promise<{ seconds?: number; peakBytes: number | null }> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error('the PyTorch reference exited');
    return JSON.parse(next.value) as { seconds?: number; peakBytes: number | null };
  }

  close(): void {
    this.child.stdin.end();
  }
}

interface Timing {
  msPerStep: number;
  peakBytes: number | null;
}

/** Our training step at one precision, stepped by the caller (so that it interleaves with PyTorch's). */
function ourTrainer(o: GpuCheckOptions, precision: Precision): { step: () => number; dispose: () => void } {
  torch.manualSeed(0);
  const model = new MSCCNet({ inputSize: o.side });
  model.train();
  model.to(o.device);
  const sgd = new SGD(model.parameters(), { lr: 0.009, momentum: 0.9, weightDecay: 5e-4 }); // msccnet.py's
  const x = torch.randn([o.batch, 3, o.side, o.side], { device: o.device });
  const targets: MsccnetTargets = {
    segmentation: torch.zeros([o.batch, o.side, o.side], { dtype: 'int64', device: o.device }),
    label: torch
      .tensor(
        Array.from({ length: o.batch }, (_, i) => (i % 2 === 0 ? 1 : 0)),
        [o.batch],
        'int64',
      )
      .to(o.device),
  };
  return {
    step: () => {
      synchronize(o.device);
      const t0 = performance.now();
      torch.tidy(() => {
        const losses = withPrecision(precision, o.device, () => msccnetLosses(model.forward(x), targets, { auxLoss: model.config.auxLoss }));
        sgd.zeroGrad();
        losses.total.backward();
        sgd.step();
        return null;
      });
      synchronize(o.device);
      return (performance.now() - t0) / 1000;
    },
    // everything on the device, momentum buffers included, so the next precision's peak starts from zero
    dispose: () => {
      for (const t of [...sgd.stateDict().tensors.values(), x, targets.segmentation, targets.label]) t.dispose();
      model.dispose();
    },
  };
}

/** (b) the training step at one precision, ours and PyTorch's interleaved step by step. */
export async function trainStep(o: GpuCheckOptions, precision: Precision): Promise<Line & { ours: Timing | null; pytorch: Timing | null }> {
  const line = { check: 'train-step', device: o.device, precision, side: o.side, batch: o.batch, steps: o.steps };
  const ours: number[] = [];
  const theirs: number[] = [];
  let reference: PyTorchReference | null = null;
  let referenceError: string | null = null;
  try {
    reference = await PyTorchReference.start(o, precision, 4);
  } catch (err) {
    referenceError = err instanceof Error ? err.message : String(err);
  }
  let theirPeak: number | null = null;
  let trainer: ReturnType<typeof ourTrainer> | null = null;
  try {
    resetPeak(o.device);
    trainer = ourTrainer(o, precision);
    for (let i = 0; i < o.warmup + o.steps; i++) {
      const mine = trainer.step();
      const r = reference === null ? null : await reference.request({ op: 'step' });
      if (i < o.warmup) continue;
      ours.push(mine);
      if (r !== null) {
        theirs.push(r.seconds!);
        theirPeak = r.peakBytes;
      }
    }
  } finally {
    trainer?.dispose();
    reference?.close();
  }
  const mine: Timing = { msPerStep: 1000 * median(ours), peakBytes: peakBytes(o.device) };
  const pytorch: Timing | null = theirs.length === 0 ? null : { msPerStep: 1000 * median(theirs), peakBytes: theirPeak };
  const ratio = pytorch === null ? null : mine.msPerStep / pytorch.msPerStep;
  return {
    ...line,
    ours: mine,
    pytorch,
    ...(referenceError === null ? {} : { pytorchError: referenceError }),
    ratio,
    targets: { ratio: `≤ ${TARGETS.stepRatio}`, peakBytes: "≤ PyTorch's" },
    pass: {
      ratio: ratio === null ? null : ratio <= TARGETS.stepRatio,
      peakBytes: mine.peakBytes === null || pytorch?.peakBytes == null ? null : mine.peakBytes <= pytorch.peakBytes,
    },
  };
}

/** (c) eval forwards at the inference batch, images/s, ours and PyTorch's. */
export async function inference(o: GpuCheckOptions, precision: Precision): Promise<Line> {
  const runs = o.warmup + o.steps;
  torch.manualSeed(0);
  const model = new MSCCNet({ inputSize: o.side });
  const seconds: number[] = [];
  try {
    model.eval();
    model.to(o.device);
    const x = torch.randn([o.inferBatch, 3, o.side, o.side], { device: o.device });
    for (let i = 0; i < runs; i++) {
      synchronize(o.device);
      const t0 = performance.now();
      torch.noGrad(() =>
        torch.tidy(() => {
          withPrecision(precision, o.device, () => model.forward(x));
          return null;
        }),
      );
      synchronize(o.device);
      if (i >= o.warmup) seconds.push((performance.now() - t0) / 1000);
    }
    x.dispose();
  } finally {
    model.dispose();
  }
  let pytorch: number | null = null;
  let pytorchError: string | null = null;
  try {
    const reference = await PyTorchReference.start(o, precision, 4);
    try {
      const theirs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await reference.request({ op: 'infer', batch: o.inferBatch });
        if (i >= o.warmup) theirs.push(r.seconds!);
      }
      pytorch = o.inferBatch / median(theirs);
    } finally {
      reference.close();
    }
  } catch (err) {
    pytorchError = err instanceof Error ? err.message : String(err);
  }
  return {
    check: 'inference',
    device: o.device,
    precision,
    side: o.side,
    batch: o.inferBatch,
    runs: o.steps,
    ours: { imagesPerSecond: o.inferBatch / median(seconds) },
    pytorch: pytorch === null ? null : { imagesPerSecond: pytorch },
    ...(pytorchError === null ? {} : { pytorchError }),
  };
}

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
