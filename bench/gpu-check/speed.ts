/** (b), (c) Speed on the device: our training step and eval forwards against plain PyTorch's, interleaved. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SGD } from '../../src/nn/index.js';
import { MSCCNet, msccnetLosses, type MsccnetTargets } from '../../src/models/msccnet/index.js';
import { torch, withPrecision, type Precision } from '../../src/torch/index.js';
import { median, peakBytes, resetPeak, synchronize, TARGETS, type GpuCheckOptions, type Line } from './common.js';

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

export interface Timing {
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
