/**
 * Does CAT-Net learn through train()? Its layout at small widths, 64² crops JPEG-encoded at the
 * recorded quality by the loader (RGB and DCT streams), AdamW with poly decay to 0 from random
 * init on the synthetic forgeries of test/train (test/train/methods-learn.test.ts's task); prints
 * the held-out pixel mIoU against the all-real predictor's (real-pixel fraction / 2), with BN in eval
 * mode (running statistics: the trainer's validation) and with batch statistics (HRNet's BN momentum
 * 0.01 leaves the running ones far behind in a short run). A bench, not a test: the run takes
 * minutes of CPU, beyond the suite's budget.
 *
 *   node --import tsx bench/catnet-learn.ts [epochs]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuUsage } from 'node:process';
import { parseTrainConfig } from '../src/train/config.js';
import { buildModel, train } from '../src/train/trainer.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { dctInputsOf } from '../src/train/validate.js';
import { createTorchEngine } from '../src/infer/engines.js';
import { evaluate } from '../src/eval/evaluate.js';
import { readManifestSamples } from '../src/samples/dataset.js';
import { writeSyntheticSet } from '../test/train/synthetic.js';

const SMALL = {
  inputSize: 64,
  width: 8,
  dctWidth: 8,
  fusionWidth: 8,
  blocks: 1,
  modules: { stage2: 1, stage3: 1, stage4: 1, dcStage3: 1, dcStage4: 1, stage5: 1 },
};
const epochs = Number(process.argv[2] ?? 4);

const dir = await mkdtemp(join(tmpdir(), 'msccnet-catnet-learn-'));
try {
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 32, val: 8, seed: 11 });
  const config = parseTrainConfig({
    method: 'catnet',
    model: SMALL,
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', workers: 0, prefetch: 2 },
    batchSize: 8,
    epochs,
    optim: { optimizer: 'adamw', lr: 1e-3, weightDecay: 0, minLrRatio: 0 },
    run: { dir: join(dir, 'run'), valEveryEpochs: epochs, checkpointEveryEpochs: epochs, logEvery: 8, threads: 2 },
  });
  const [t0, cpu0, load0] = [performance.now(), cpuUsage(), loadavg()[0]];
  const r = await train(config);
  const cpu = cpuUsage(cpu0);
  // the same validation samples and DCT inputs, the model's BN on the batch's own statistics
  const model = await buildModel(config);
  await loadCheckpoint(r.lastCheckpoint!, model, null);
  const { samples } = await readManifestSamples(set.manifest, { split: 'val', compression: 'c23', methods: ['Deepfakes'] });
  const engine = createTorchEngine(model);
  model.train();
  const batchBn = await evaluate(engine, samples, { batchSize: 8, ...dctInputsOf(model), evaluatorOptions: { pixelAuc: false } });
  await engine.release();
  console.log(
    `catnet (small widths, 64², ${r.step} steps of 8): held-out mIoU eval BN ${r.validation!.official.mIoU.toFixed(3)}, batch BN ${batchBn.official.mIoU.toFixed(3)}, all-real ${(set.valRealPixelFraction / 2).toFixed(3)}; ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU (load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)})`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
