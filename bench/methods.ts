/**
 * Speed and memory of every registered method, at its official input side and at 512²: an eval
 * forward (no grad, batch 1) and one training step (batch 2: forward, the method's own losses,
 * backward, SGD). Per row: median and best time, GMAC/s from the method's traced MAC count
 * (src/models/complexity.ts; a training step counts 3× the forward's MACs per image: forward,
 * input gradient, weight gradient), peak RSS, minor page faults and V8 GC time per call.
 * Prints a markdown table. Not a test.
 *
 *   node --import tsx bench/methods.ts [--methods ffd,mvss] [--sizes official,512] [--modes forward,train]
 *        [--runs 3] [--rounds 1] [--threads 2] [--compare /work/wt-base] [--pytorch]
 *
 * Each measurement runs in a child process of its own (so peak RSS and page faults are its
 * own): one untimed call, then `--runs` timed calls. `--compare DIR` also runs DIR's src/ (a
 * checkout of another commit, its addon built) in alternation with ours; `--pytorch` runs the
 * authors' architecture in PyTorch (bench/pytorch/methods.py; Debian python3-torch) where one
 * is written, also in alternation, so that each compared pair sees the same machine load.
 * `--rounds R` repeats the alternation R times; the table keeps each column's best round.
 */
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const ownRoot = resolve(here, '..');

const { values: args } = parseArgs({
  options: {
    methods: { type: 'string' },
    sizes: { type: 'string', default: 'official,512' },
    modes: { type: 'string', default: 'forward,train' },
    runs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    threads: { type: 'string', default: String(availableParallelism()) },
    compare: { type: 'string' },
    pytorch: { type: 'boolean', default: false },
    python: { type: 'string', default: process.env.PYTHON ?? '/usr/bin/python3' },
    // internal: one measurement in this process
    child: { type: 'boolean', default: false },
    root: { type: 'string', default: ownRoot },
    method: { type: 'string' },
    side: { type: 'string' },
    mode: { type: 'string' },
  },
});

type Mode = 'forward' | 'train';
const BATCH: Record<Mode, number> = { forward: 1, train: 2 };
/** The methods whose authors' architecture bench/pytorch/methods.py builds. */
const PYTORCH_METHODS = new Set(['ffd', 'mvss', 'multitask', 'hpfcn']);

/** One child's figures: seconds per call of the timed calls, and per-call costs. */
interface Measurement {
  seconds: number[];
  minorFaultsPerCall: number;
  gcMsPerCall: number | null;
  maxRssMiB: number;
  /** peak live tensor bytes (MiB) of the timed calls, where the torch layer counts them */
  peakTensorMiB: number | null;
}

async function measureHere(): Promise<void> {
  const root = resolve(args.root);
  const load = (p: string) => import(pathToFileURL(join(root, p)).href);
  const { torch } = (await load('src/torch/index.ts')) as typeof import('../src/torch/index.js');
  const { SGD } = (await load('src/nn/index.ts')) as typeof import('../src/nn/index.js');
  const { buildMethod } = (await load('src/models/registry.ts')) as typeof import('../src/models/registry.js');
  const { methodForward } = (await load('src/models/method.ts')) as typeof import('../src/models/method.js');
  const method = String(args.method);
  const side = Number(args.side);
  const mode = args.mode as Mode;
  const runs = Number(args.runs);
  const batch = BATCH[mode];
  torch.setNumThreads(Number(args.threads));
  torch.manualSeed(0);
  const model = buildMethod(method, { inputSize: side });
  const x = torch.keep(torch.randn([batch, 3, side, side]));
  // a method's auxiliary inputs (CAT-Net's DCT volume and quantisation table): their values do not change the work
  const aux = Object.fromEntries((model.auxiliaryInputs ?? []).map((a) => [a.name, torch.keep(torch.ones(a.shape(batch, side, side)))]));
  const forward = () => methodForward(model, x, aux);
  let call: () => void;
  if (mode === 'forward') {
    model.eval();
    call = () => torch.noGrad(() => torch.tidy(() => void forward()));
  } else {
    model.train();
    const opt = new SGD(model.parameters(), { lr: 1e-3, momentum: 0.9, weightDecay: 5e-4 });
    const segmentation = torch.keep(torch.randint(0, 2, [batch, side, side]));
    const label = torch.keep(torch.tensor([0, 1], [2], 'int64'));
    call = () =>
      torch.tidy(() => {
        const losses = model.losses(forward(), { segmentation, label, image: x });
        opt.zeroGrad();
        losses.total.backward();
        opt.step();
      });
  }
  call(); // first call: allocations, kernel selection
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const memory = torch.memory() as { peakAllocatedBytes?: number };
  const counts = memory.peakAllocatedBytes !== undefined;
  if (counts) (torch as unknown as { resetPeakMemoryStats(): void }).resetPeakMemoryStats();
  const faults0 = process.resourceUsage().minorPageFault;
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    call();
    seconds.push((performance.now() - t0) / 1000);
  }
  const faults = process.resourceUsage().minorPageFault - faults0;
  await new Promise((r) => setTimeout(r, 50)); // gc entries arrive asynchronously
  gc.disconnect();
  const peak = counts ? (torch.memory() as { peakAllocatedBytes: number }).peakAllocatedBytes : null;
  const out: Measurement = {
    seconds,
    minorFaultsPerCall: Math.round(faults / runs),
    gcMsPerCall: gcMs / runs,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    peakTensorMiB: peak === null ? null : peak / 2 ** 20,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Runs a command and parses its last stdout line as a Measurement; null (with the reason on stderr) on failure. */
function runChild(command: string, argv: string[]): Promise<Measurement | null> {
  return new Promise((done) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('close', (code) => {
      const last = text.trim().split('\n').pop() ?? '';
      try {
        done(code === 0 ? (JSON.parse(last) as Measurement) : null);
      } catch {
        done(null);
      }
      if (code !== 0) process.stderr.write(`${command} ${argv.join(' ')}: exit ${code}\n`);
    });
  });
}

async function drive(): Promise<void> {
  const { buildMethod } = await import('../src/models/registry.js');
  const { methodNames } = await import('../src/models/registry.js');
  const { methodComplexity } = await import('../src/onnx/complexity.js');
  const methods = args.methods ? args.methods.split(',') : methodNames();
  const modes = args.modes.split(',') as Mode[];
  const runs = args.runs;
  const threads = args.threads;
  const rounds = Number(args.rounds);
  const columns: { name: string; run: (m: string, side: number, mode: Mode) => Promise<Measurement | null> | null }[] = [
    { name: 'msccnet', run: (m, side, mode) => ours(ownRoot, m, side, mode) },
  ];
  if (args.compare) columns.push({ name: 'before', run: (m, side, mode) => ours(resolve(args.compare!), m, side, mode) });
  if (args.pytorch) {
    columns.push({
      name: 'pytorch',
      run: (m, side, mode) =>
        PYTORCH_METHODS.has(m) ? runChild(args.python, [join(here, 'pytorch', 'methods.py'), m, String(side), mode, String(BATCH[mode]), runs, threads]) : null,
    });
  }
  function ours(root: string, m: string, side: number, mode: Mode): Promise<Measurement | null> {
    const argv = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--root', root, '--method', m, '--side', String(side), '--mode', mode];
    return runChild(process.execPath, [...argv, '--runs', runs, '--threads', threads]);
  }

  const lines: string[] = [];
  const header = ['method', 'side', 'mode', 'GMAC', ...columns.flatMap((c) => [`${c.name} median s`, `${c.name} best s`]), 'GMAC/s (best)'];
  const memoryHeader = [
    'method',
    'side',
    'mode',
    ...columns.flatMap((c) => [`${c.name} peak RSS MiB`, `${c.name} faults/call`, `${c.name} GC ms/call`]),
    'peak tensor MiB',
  ];
  const timeRows: string[][] = [];
  const memoryRows: string[][] = [];
  for (const m of methods) {
    const official = buildMethod(m);
    const sides = [...new Set(args.sizes.split(',').map((s) => (s === 'official' ? official.preprocessing.inputSize : Number(s))))];
    official.dispose();
    for (const side of sides) {
      const model = buildMethod(m, { inputSize: side });
      const gmac = methodComplexity(model, side).macs / 1e9;
      model.dispose();
      for (const mode of modes) {
        const best = new Map<string, Measurement>();
        for (let r = 0; r < rounds; r++) {
          for (const c of columns) {
            const got = await c.run(m, side, mode);
            const seen = best.get(c.name);
            if (got !== null && (seen === undefined || Math.min(...got.seconds) < Math.min(...seen.seconds))) best.set(c.name, got);
          }
        }
        const fmt = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? '—' : v.toFixed(digits));
        const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
        const work = gmac * BATCH[mode] * (mode === 'train' ? 3 : 1);
        const ourBest = best.get('msccnet');
        timeRows.push([
          m,
          String(side),
          mode,
          fmt(gmac, 1),
          ...columns.flatMap((c) => {
            const v = best.get(c.name);
            return [fmt(v && median(v.seconds), 3), fmt(v && Math.min(...v.seconds), 3)];
          }),
          fmt(ourBest && work / Math.min(...ourBest.seconds), 1),
        ]);
        memoryRows.push([
          m,
          String(side),
          mode,
          ...columns.flatMap((c) => {
            const v = best.get(c.name);
            return [fmt(v?.maxRssMiB, 0), fmt(v?.minorFaultsPerCall, 0), fmt(v?.gcMsPerCall, 1)];
          }),
          fmt(ourBest?.peakTensorMiB, 0),
        ]);
        process.stderr.write(`${m} ${side} ${mode} done (load ${loadavg()[0].toFixed(1)})\n`);
      }
    }
  }
  const table = (head: string[], rows: string[][]) => [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  lines.push(
    `threads ${threads}, ${runs} timed calls per process after one untimed, best of ${rounds} round(s); load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '',
  );
  lines.push(...table(header, timeRows), '', ...table(memoryHeader, memoryRows));
  process.stdout.write(`${lines.join('\n')}\n`);
}

await (args.child ? measureHere() : drive());
