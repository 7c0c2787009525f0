/**
 * Training-step benchmark of the reference configuration (MSCCNet, ResNet-50 V1c, 512², batch 2,
 * official augmentation, SGD + poly) through the real `train()` loop on synthetic crops, beside
 * a bare forward+loss+backward+step on a fixed tensor: their difference is what the loop, data
 * loading and loss bookkeeping cost. Reference: the authors' code, 11.05 s per batch-2 step here.
 * Prints JSON lines; never fails.   npm run bench:train -- [steps=3] [side=512] [threads=2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MSCCNet } from '../src/models/index.js';
import { SGD } from '../src/nn/index.js';
import { torch } from '../src/torch/index.js';
import { parseTrainConfig } from '../src/train/config.js';
import { trainingLoss } from '../src/train/losses.js';
import { train } from '../src/train/trainer.js';
import { writeSyntheticSet } from '../test/train/synthetic.js';

const [steps = 3, side = 512, threads = 2] = process.argv.slice(2).map(Number);
const REFERENCE_SECONDS = 11.05;
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];
const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-train-'));
torch.setNumThreads(threads);

// 1. the bare step: fixed input, no loader, no logging
{
  const model = new MSCCNet({ inputSize: side });
  const opt = new SGD(model.parameters(), { lr: 0.009, momentum: 0.9, weightDecay: 5e-4 });
  const x = torch.randn([2, 3, side, side]);
  const segmentation = torch.zeros([2, side, side]);
  const label = torch.tensor([1, 0], [2]);
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    torch.tidy(() => {
      opt.zeroGrad();
      trainingLoss(model.forward(x), { segmentation, label }, { img_cls: 1, pix_cls_map: 1, pix_cls_mask: 1 }, true).total.backward();
      opt.step();
      return null;
    });
    if (i > 0) times.push((performance.now() - t0) / 1000);                   // step 0 warms up
  }
  console.log(JSON.stringify({ bench: 'train.bareStep', side, batch: 2, threads, steps, secondsPerStep: median(times), imagesPerSecond: 2 / median(times),
    referenceSeconds: REFERENCE_SECONDS, ratioToReference: median(times) / REFERENCE_SECONDS, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  model.dispose();
}

// 2. the full loop: manifest → worker decode + official augmentation → loss → SGD + poly → log
{
  const set = await writeSyntheticSet(join(dir, 'data'), { side: Math.round(side * 0.6), train: steps + 2, val: 1, seed: 1 });
  const config = parseTrainConfig({
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], cropSize: side, scaleBase: Math.round(side * 520 / 512), workers: 1, prefetch: 2 },
    model: { inputSize: side }, batchSize: 2, epochs: 1,
    run: { dir: join(dir, 'run'), maxSteps: steps + 1, threads, logEvery: 1, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
  });
  const times: number[] = [];
  const t0 = performance.now();
  let last = 0;
  await train(config, { onEvent: (e) => {                 // wall time between steps: data waits included
    if (e.kind !== 'step') return;
    const now = performance.now();
    if (e.step > 1) times.push((now - last) / 1000);
    last = now;
  } });
  console.log(JSON.stringify({ bench: 'train.loop', side, batch: 2, threads, steps: times.length, secondsPerStep: median(times), imagesPerSecond: 2 / median(times),
    referenceSeconds: REFERENCE_SECONDS, ratioToReference: median(times) / REFERENCE_SECONDS, wallSeconds: (performance.now() - t0) / 1000,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), note: 'wall time between consecutive steps (loader waits included), step 1 warms up' }));
}
await rm(dir, { recursive: true, force: true });
