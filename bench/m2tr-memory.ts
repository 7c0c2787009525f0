/**
 * M2TR's cross-modal attention at 320² and 512² on the CPU: peak resident memory and time per
 * image of the eval forward (batch 1), with the official full (H/4·W/4)² attention and computed
 * in blocks of queries (`attentionQueryRows`), and of one training step (forward + backward).
 * At 512² each CMA_Block holds a 16384 × 16384 score matrix (1 GiB in fp32; ×3 while the
 * scale and the softmax are taken). Each configuration runs in its own process, so each peak
 * (maxRSS, less the process's RSS after building the model) is its own. Prints JSON lines.
 * The last row (a 512² training step) needs more than 8 GiB.
 *
 *   node --import tsx bench/m2tr-memory.ts [runs=2] [threads=2]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { torch } from '../src/torch/index.js';
import { buildMethod } from '../src/models/registry.js';
import type { M2TR } from '../src/models/m2tr/index.js';

const MiB = 2 ** 20;

/** One configuration, in this process: build, warm up once, then time `runs` passes. */
function measure(side: number, queryRows: number, mode: 'eval' | 'train', runs: number, threads: number): Record<string, unknown> {
  torch.setNumThreads(threads);
  const model = buildMethod('m2tr', { inputSize: side, attentionQueryRows: queryRows }) as M2TR;
  const x = torch.randn([1, 3, side, side]);
  const baseline = process.memoryUsage().rss;
  const pass = () =>
    torch.tidy(() => {
      if (mode === 'eval') {
        model.eval();
        torch.noGrad(() => model.forward(x).imgLogits.sum().item());
        return;
      }
      model.train();
      const out = model.forward(x);
      model.zeroGrad();
      out.imgLogits.sum().add(out.maskLogits.mean()).backward();
    });
  pass();
  const seconds: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    pass();
    seconds.push((performance.now() - t0) / 1000);
  }
  return {
    side,
    mode,
    attention: queryRows === 0 ? 'full' : `${queryRows} query rows per block`,
    scoreMatrixMiB: Math.round(((side / 4) ** 2 * Math.min(queryRows || (side / 4) ** 2, (side / 4) ** 2) * 4) / MiB),
    secondsPerImage: Math.round(Math.min(...seconds) * 100) / 100,
    peakMiB: Math.round((process.resourceUsage().maxRSS * 1024 - baseline) / MiB),
    threads,
  };
}

const [runs = 2, threads = 2] = process.argv.slice(2).map(Number);
if (process.env.M2TR_BENCH_CHILD !== undefined) {
  const [side, rows, mode] = process.env.M2TR_BENCH_CHILD.split(',');
  console.log(JSON.stringify(measure(Number(side), Number(rows), mode as 'eval' | 'train', runs, threads)));
} else {
  const configs: [number, number, 'eval' | 'train'][] = [
    [320, 0, 'eval'],
    [320, 1024, 'eval'],
    [512, 0, 'eval'],
    [512, 2048, 'eval'],
    [512, 1024, 'eval'],
    [320, 0, 'train'],
    [512, 0, 'train'],
  ];
  for (const [side, rows, mode] of configs) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(runs), String(threads)], {
      env: { ...process.env, M2TR_BENCH_CHILD: `${side},${rows},${mode}` },
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    console.log(
      line.startsWith('{') ? line : JSON.stringify({ side, mode, queryRows: rows, failed: (child.stderr || `exit ${child.status}`).trim().split('\n').pop() }),
    );
    console.log(JSON.stringify({ load: loadavg().map((l) => Math.round(l * 100) / 100) }));
  }
}
