/**
 * HiFi-Net (FENet + SegNet, HiFi_Net_loc.py) per image on the CPU: eval forward time and peak
 * memory at side² (default 512, the MSCCNet protocol; 256 is the official crop), batch 1, through
 * libtorch. Timed in turn with the dilated ResNet-50 (output stride 8) of research/runtime-bench.md,
 * so the ratio holds on a loaded machine. Prints one JSON line. Not a test.
 *
 *   node --import tsx bench/hifinet.ts [side=512] [runs=3] [threads=2]
 */
import { loadavg } from 'node:os';
import { HiFiNet } from '../src/models/hifinet/index.js';
import { ResNet } from '../src/models/backbones/resnet.js';
import { methodComplexity } from '../src/onnx/complexity.js';
import { torch } from '../src/torch/index.js';

const [side = 512, runs = 3, threads = 2] = process.argv.slice(2).map(Number);
torch.setNumThreads(threads);
const model = new HiFiNet({ inputSize: side }).eval();
const macs = methodComplexity(model, side).macs;
const x = torch.rand([1, 3, side, side]);
const reference = new ResNet({ depth: 50, outputStride: 8 }).eval();
const rssBefore = process.memoryUsage().rss;
// the two forwards in turn, run 0 of each a warm-up (allocations) that is not counted
const forwards: Record<string, () => unknown> = {
  hifinet: () => model.forward(x).maskLogits.sum().item(),
  resnet50os8: () => reference.forward(x)[3].sum().item(),
};
const timings: Record<string, number[]> = { hifinet: [], resnet50os8: [] };
for (let i = 0; i <= runs; i++) {
  for (const [name, forward] of Object.entries(forwards)) {
    const t0 = performance.now();
    torch.noGrad(() => torch.tidy(forward));
    if (i > 0) timings[name].push(performance.now() - t0);
  }
}
const median = (name: string) => [...timings[name]].sort((a, b) => a - b)[runs >> 1];
console.log(
  JSON.stringify({
    bench: 'hifinet.forward',
    side,
    batch: 1,
    runs,
    threads: torch.getNumThreads(),
    gMacs: Math.round(macs / 1e7) / 100,
    medianMs: Math.round(median('hifinet')),
    minMs: Math.round(Math.min(...timings.hifinet)),
    resnet50os8MedianMs: Math.round(median('resnet50os8')),
    ratioToResnet50os8: Math.round((median('hifinet') / median('resnet50os8')) * 100) / 100,
    weightsMiB: Math.round((model.numParameters() * 4) / 2 ** 20),
    rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    load1: Math.round(loadavg()[0] * 100) / 100,
  }),
);
