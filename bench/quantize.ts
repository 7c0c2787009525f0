/**
 * Accuracy of static int8 export (issue 6): trains a small MSCCNet (ResNet-18 V1c, C = 64) on
 * synthetic forgeries with the real `train()` loop (the learning test's recipe, a little longer),
 * exports it as fp32 and as static int8 calibrated on the train split (min/max, percentile,
 * reduce-range), and evaluates each in onnxruntime-node on the held-out val crops with the
 * official Evaluator. Target: int8 pixel mIoU within 0.5 points of fp32. Figures, not assertions.
 *
 *   npm run bench:quantize -- [side=64] [train=64] [val=24] [epochs=6] [threads=2] [workDir]
 *
 * With `workDir`, the synthetic set and the trained run are kept there and reused by the next
 * call (training takes ~10 min on 2 busy cores); without it, a temporary folder is removed.
 */
import { access, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Evaluator } from '../src/eval/index.js';
import { officialPreprocess } from '../src/image/preprocess.js';
import { loadModel, modelMetadata, openCalibrationSet } from '../src/infer/index.js';
import { exportMethod, exportMethodInt8, MSCCNET_IO, type Int8ExportOptions } from '../src/onnx/index.js';
import { parseTrainConfig } from '../src/train/config.js';
import { loadSplit, train } from '../src/train/index.js';
import { evalItems, SamplePool } from '../src/samples/index.js';
import { writeSyntheticSet } from '../test/train/synthetic.js';

const [side = 64, trainCount = 64, valCount = 24, epochs = 6, threads = 2] = process.argv.slice(2, 7).map(Number);
const workDir = process.argv[7];
const dir = workDir ?? (await mkdtemp(join(tmpdir(), 'msccnet-bench-quantize-')));
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
try {
  const set = await writeSyntheticSet(join(dir, 'data'), { side, train: trainCount, val: valCount, seed: 23 });
  const modelConfig = { backboneDepth: 18 as const, inputSize: side, featsChannels: 64 };
  const config = parseTrainConfig({
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: side, workers: 1, prefetch: 2 },
    model: modelConfig,
    batchSize: 8,
    epochs,
    optim: { lr: 0.01 },
    run: { dir: join(dir, 'run'), valEveryEpochs: epochs, logEvery: 1000, threads },
  });
  const weights = join(dir, 'run', 'trained.safetensors');
  if (!(await exists(weights))) {
    const t0 = performance.now();
    const trained = await train(config);
    await copyFile(join(trained.lastCheckpoint!, 'model.safetensors'), weights);
    console.log(
      JSON.stringify({
        bench: 'quantize.train',
        side,
        trainPairs: trainCount,
        valPairs: valCount,
        epochs,
        steps: trained.step,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        libtorchValMIoU: trained.validation?.official.mIoU,
        loadAvg1m: +loadavg()[0].toFixed(2),
      }),
    );
  }

  const { model, weightsHash } = await loadModel({ weights, overrides: modelConfig });
  const metadata = modelMetadata(model, 'msccnet', weightsHash);
  const calibration = await openCalibrationSet(set.manifest, model.preprocessing, { limit: 32 });
  const int8 = (o: Partial<Int8ExportOptions>) =>
    exportMethodInt8(model, { batches: calibration.batches(), calibrationHash: calibration.hash, metadata, threads, ...o });
  const exports: [string, Uint8Array][] = [
    ['fp32', exportMethod(model, { metadata }).bytes],
    ['int8-minmax', (await int8({})).bytes],
    ['int8-percentile', (await int8({ method: 'percentile' })).bytes],
    ['int8-minmax-reduce-range', (await int8({ reduceRange: true })).bytes],
    ['int8-dynamic', exportMethod(model, { precision: 'int8-dynamic', metadata }).bytes],
  ];
  model.dispose();

  const { samples } = await loadSplit(config, 'val');
  const pool = await SamplePool.create(0);
  const items = [];
  for await (const it of evalItems(pool, samples, { spec: officialPreprocess(side), prefetch: 4 })) items.push(it);
  await pool.close();
  let fp32MIoU = NaN;
  for (const [name, bytes] of exports) {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const evaluator = new Evaluator();
    for (const it of items) {
      const out = await session.run({ [MSCCNET_IO.input]: new ort.Tensor('float32', it.image, [1, 3, side, side]) });
      const mask = out[MSCCNET_IO.maskLogits];
      evaluator.add({
        id: it.sample.id,
        label: it.sample.label,
        imageLogits: out[MSCCNET_IO.imageLogits].data as Float32Array,
        maskLogits: { data: mask.data as Float32Array, shape: [Number(mask.dims[1]), Number(mask.dims[2]), Number(mask.dims[3])] },
        gtRaw: { data: it.gt, shape: [it.height, it.width] },
      });
    }
    await session.release();
    const official = evaluator.result().official;
    if (name === 'fp32') fp32MIoU = official.mIoU;
    console.log(
      JSON.stringify({
        bench: 'quantize.accuracy',
        model: name,
        images: items.length,
        mIoU: +official.mIoU.toFixed(5),
        F1: +official.F1.toFixed(5),
        ACC: +official.ACC.toFixed(4),
        AUC: +official.AUC.toFixed(4),
        mIoUPointsBelowFp32: +((fp32MIoU - official.mIoU) * 100).toFixed(3),
        targetPoints: 0.5,
        mib: +(bytes.length / 2 ** 20).toFixed(2),
      }),
    );
  }
} finally {
  if (workDir === undefined) await rm(dir, { recursive: true, force: true });
}
