/**
 * SLADD's detector on the CPU: seconds per image (eval forward, batch 1, libtorch) at 256² (the
 * official input) and 512², with its parameters and multiply-adds (onnx/complexity.ts) beside the
 * official counts (20.83 M; 5.95 G at 256², 23.91 G at 512²). Figures, not assertions; the load
 * average is printed with them.
 *
 *   node --import tsx bench/sladd.ts [runs=3] [threads=2] [sides=256,512]
 */
import { loadavg } from 'node:os';
import { torch } from '../src/torch/index.js';
import { buildMethod } from '../src/models/registry.js';
import { methodComplexity } from '../src/onnx/complexity.js';

const [runsArg, threadsArg, sidesArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
torch.setNumThreads(Number(threadsArg ?? 2));
const sides = (sidesArg ?? '256,512').split(',').map(Number);
const OFFICIAL_GMACS: Readonly<Record<number, number>> = { 256: 5.95, 512: 23.91 };

for (const side of sides) {
  const model = buildMethod('sladd', { inputSize: side }).eval();
  const { parameters, macs } = methodComplexity(model);
  const x = torch.randn([1, 3, side, side]);
  const times: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = performance.now();
    torch.tidy(() => {
      torch.noGrad(() => model.forward(x).maskLogits.toTypedArray());
      return null;
    });
    if (r > 0) times.push((performance.now() - t0) / 1000); // the first run (allocations) is not timed
  }
  times.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      method: 'sladd',
      side,
      threads: torch.getNumThreads(),
      secondsPerImage: Number(times[times.length >> 1].toFixed(3)),
      parameters,
      gmacs: Number((macs / 1e9).toFixed(3)),
      officialGmacs: OFFICIAL_GMACS[side] ?? null,
      load1: Number(loadavg()[0].toFixed(2)),
    }),
  );
  model.dispose();
}
