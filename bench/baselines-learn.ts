/**
 * Does each baseline learn? A short AdamW run per method on a tiny synthetic forgery task (64²),
 * then the held-out two-class mIoU against the all-real predictor's, with BN in eval mode
 * (running statistics, what the benchmark uses) and with batch statistics (a short run leaves
 * the running ones behind). Prints figures; not a test (about a minute on 2 cores).
 *
 *   node --import tsx bench/baselines-learn.ts [method …]
 */
import { F, torch, type Tensor } from '../src/torch/index.js';
import { AdamW } from '../src/nn/index.js';
import { buildMethod } from '../src/models/registry.js';
import type { MethodName } from '../src/models/method.js';

const SIDE = 64;

/**
 * A tiny forgery task: normalised noise images; a fake one has an axis-aligned rectangle (≥ 24
 * px a side) of bright, smooth texture. Half of each batch is fake. Deterministic per seed.
 */
function batch(n: number, seed: number): { x: Tensor; segmentation: Tensor; label: Tensor } {
  torch.manualSeed(seed);
  const x = torch.randn([n, 3, SIDE, SIDE]);
  const seg = new BigInt64Array(n * SIDE * SIDE);
  const labels: number[] = [];
  let rng = (seed * 2654435761) % 4294967296;
  const next = (m: number) => {
    rng = (rng * 1103515245 + 12345) % 2147483648;
    return rng % m;
  };
  torch.noGrad(() => {
    for (let i = 0; i < n; i++) {
      const fake = i % 2;
      labels.push(fake);
      if (!fake) continue;
      const [h, w] = [24 + next(17), 24 + next(17)];
      const [r, c] = [next(SIDE - h + 1), next(SIDE - w + 1)];
      x.narrow(0, i, 1).narrow(2, r, h).narrow(3, c, w).mul_(0.2).add_(1.5);
      for (let y = r; y < r + h; y++) seg.fill(1n, i * SIDE * SIDE + y * SIDE + c, i * SIDE * SIDE + y * SIDE + c + w);
    }
  });
  return { x, segmentation: torch.tensor(seg, [n, SIDE, SIDE]), label: torch.tensor(labels, [n], 'int64') };
}

/** Two-class mean IoU of predictions against targets (both [N, H, W], 0/1). */
function meanIou(pred: Int32Array | number[], target: readonly number[]): number {
  let iou = 0;
  for (const k of [0, 1]) {
    let inter = 0;
    let union = 0;
    for (let i = 0; i < target.length; i++) {
      const p = pred[i] === k;
      const t = target[i] === k;
      if (p && t) inter++;
      if (p || t) union++;
    }
    iou += union === 0 ? 1 : inter / union;
  }
  return iou / 2;
}

// catnet reads the DCT volume and q-table of a JPEG, which these synthetic batches do not have
const RUNS: Record<Exclude<MethodName, 'msccnet' | 'catnet'>, { steps: number; lr: number; config: object }> = {
  hpfcn: { steps: 30, lr: 1e-3, config: {} },
  multitask: { steps: 150, lr: 3e-3, config: {} },
  ffd: { steps: 30, lr: 3e-4, config: {} },
  mvss: { steps: 25, lr: 1e-4, config: { constrain: false } },
  // learns with batch statistics (0.836 vs all-real 0.437); its BN momentum 0.01 keeps eval mode at all-real for
  // hundreds of steps, so no train()-based test can afford it (docs/baselines.md, M2TR: Does it learn?)
  m2tr: { steps: 30, lr: 1e-3, config: {} },
  sladd: { steps: 30, lr: 3e-4, config: { detectorAlone: true } }, // the detector's own losses on these masks; no faces for the synthesizer
  hifinet: { steps: 30, lr: 1e-3, config: { cropSize: SIDE } },
};

const chosen = process.argv.slice(2);
for (const [name, run] of Object.entries(RUNS)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  torch.manualSeed(1);
  const model = buildMethod(name, { ...run.config, inputSize: SIDE });
  const optimizer = new AdamW(model.parameters(), { lr: run.lr, weightDecay: 0 });
  const first: number[] = [];
  const last: number[] = [];
  const t0 = performance.now();
  for (let step = 0; step < run.steps; step++) {
    torch.tidy(() => {
      model.train();
      const b = batch(4, 100 + step);
      const losses = model.losses(model.forward(b.x), { segmentation: b.segmentation, label: b.label, image: b.x });
      optimizer.zeroGrad();
      losses.total.backward();
      optimizer.step();
      (step < 3 ? first : step >= run.steps - 3 ? last : []).push(losses.total.item());
      return null;
    });
  }
  const msPerStep = (performance.now() - t0) / run.steps;
  const held = batch(8, 9999);
  const target = held.segmentation.toArray();
  const miou = (train: boolean) =>
    torch.noGrad(() => {
      const logits = model.train(train).forward(held.x).maskLogits;
      return meanIou(
        F.interpolate(logits, { size: [SIDE, SIDE], mode: 'bilinear', alignCorners: false })
          .argmax(1)
          .toArray(),
        target,
      );
    });
  const [evalBn, batchBn] = [miou(false), miou(true)];
  console.log(
    `${name.padEnd(9)} ${run.steps} steps × ${msPerStep.toFixed(0)} ms  loss ${first.map((v) => v.toFixed(3)).join(' ')} → ${last.map((v) => v.toFixed(3)).join(' ')}  ` +
      `held-out mIoU: eval BN ${evalBn.toFixed(3)}, batch BN ${batchBn.toFixed(3)}, all-real ${meanIou(
        target.map(() => 0),
        target,
      ).toFixed(3)}`,
  );
  model.dispose();
}
