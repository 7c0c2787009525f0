/**
 * CAT-Net (CAT_full.yaml, HRNet-W48 + DCT stream) per image on the CPU: eval forward time and peak
 * memory at side² (default 512, the official crop), batch 1, through libtorch. The DCT volume is a
 * valid one-hot volume (coefficient 0 everywhere); time does not depend on its values. Timed in
 * turn with the dilated ResNet-50 (output stride 8) of research/runtime-bench.md, so the ratio
 * holds on a loaded machine. Prints one JSON line. Not a test.
 *
 *   node --import tsx bench/catnet.ts [side=512] [runs=3] [threads=2]
 */
import { loadavg } from 'node:os';
import { CAT_Net, CATNET_DCT_CHANNELS } from '../src/models/catnet/index.js';
import { ResNet } from '../src/models/backbones/resnet.js';
import { torch } from '../src/torch/index.js';

const [side = 512, runs = 3, threads = 2] = process.argv.slice(2).map(Number);
torch.setNumThreads(threads);
const model = new CAT_Net({ inputSize: side }).eval();
const rgb = torch.rand([1, 3, side, side]).mul(2).sub(1);
const dctVolume = torch.zeros([1, CATNET_DCT_CHANNELS, side, side]);
torch.noGrad(() => dctVolume.narrow(1, 0, 1).fill_(1));
const qtable = torch.ones([1, 1, 8, 8]);
const reference = new ResNet({ depth: 50, outputStride: 8 }).eval();
const rssBefore = process.memoryUsage().rss;
const ms: number[] = [];
const refMs: number[] = [];
const timed = (f: () => void): number => {
  const t0 = performance.now();
  torch.noGrad(() => torch.tidy(f));
  return performance.now() - t0;
};
for (let i = 0; i <= runs; i++) {
  // run 0 warms up (allocations) and is not counted
  const t = timed(() => model.forward(rgb, { dctVolume, qtable }).maskLogits.sum().item());
  const r = timed(() => reference.forward(rgb)[3].sum().item());
  if (i > 0) {
    ms.push(t);
    refMs.push(r);
  }
}
ms.sort((a, b) => a - b);
refMs.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'catnet.forward',
    side,
    batch: 1,
    runs,
    threads: torch.getNumThreads(),
    medianMs: Math.round(ms[runs >> 1]),
    minMs: Math.round(ms[0]),
    resnet50os8MedianMs: Math.round(refMs[runs >> 1]),
    ratioToResnet50os8: Math.round((ms[runs >> 1] / refMs[runs >> 1]) * 100) / 100,
    weightsMiB: Math.round((model.numParameters() * 4) / 2 ** 20),
    rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    load1: Math.round(loadavg()[0] * 100) / 100,
  }),
);
