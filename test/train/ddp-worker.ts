/**
 * One rank of the data-parallel tests (started by distributed.test.ts, one process per rank).
 * `grads`: one forward/backward of a small MSCCNet on this rank's slice of a fixed global batch,
 * gradients averaged over the group; rank 0 writes them with the BN running statistics.
 * `eval`: the trainer's validation, sharded over the group; every rank writes the merged result.
 */
import { writeFile } from 'node:fs/promises';
import { MsccnetMethod } from '../../src/models/index.js';
import { saveSafetensors } from '../../src/nn/index.js';
import { torch, type Tensor } from '../../src/torch/index.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { initProcessGroup, type C10dProcessGroup } from '../../src/train/distributed.js';
import { SamplePool } from '../../src/samples/loader.js';
import { buildModel } from '../../src/train/trainer.js';
import { validate } from '../../src/train/validate.js';
import { seededRandom } from '../../src/data/synthetic/geometry.js';

export type WorkerJob =
  | { mode: 'grads'; rank: number; world: number; port: number; syncBn: boolean; out: string; globalBatch: number; side: number; dtype: 'float32' | 'float64' }
  | { mode: 'eval'; rank: number; world: number; port: number; out: string; config: TrainConfigInput };

/** The global batch: images N(0,1)-like, labels alternating, masks 0/1 (no ignored pixel, so every loss mean is over the same pixels). */
function globalBatch(n: number, side: number): { images: Float32Array; targets: Uint8Array; labels: Float32Array } {
  const rand = seededRandom(7);
  const images = Float32Array.from({ length: n * 3 * side * side }, () => 2 * rand() - 1);
  const targets = Uint8Array.from({ length: n * side * side }, (_, i) =>
    Math.floor(i / side) % side < side / 2 === (Math.floor(i / (side * side)) % 2 === 0) ? 1 : 0,
  );
  const labels = Float32Array.from({ length: n }, (_, k) => k % 2);
  return { images, targets, labels };
}

async function gradients(job: Extract<WorkerJob, { mode: 'grads' }>, group: C10dProcessGroup | null): Promise<void> {
  torch.setNumThreads(1);
  torch.setDefaultDtype(job.dtype);
  torch.manualSeed(3);
  const model = new MsccnetMethod({ backboneDepth: 18, inputSize: job.side, featsChannels: 64, dropout: 0 });
  group?.broadcastParameters(model);
  group?.synchronizeBatchNorm(model, job.syncBn);
  model.train();
  const S = job.side;
  const { images, targets, labels } = globalBatch(job.globalBatch, S);
  const B = job.globalBatch / job.world;
  const r = job.rank;
  torch.tidy(() => {
    const x = torch.tensor(images.subarray(r * B * 3 * S * S, (r + 1) * B * 3 * S * S), [B, 3, S, S], job.dtype);
    const segmentation = torch.tensor(targets.subarray(r * B * S * S, (r + 1) * B * S * S), [B, S, S]);
    const label = torch.tensor(labels.subarray(r * B, (r + 1) * B), [B]);
    const out = model.forward(x);
    model.losses(out, { segmentation, label, image: x }).total.backward();
    return null;
  });
  group?.allReduceGradients(model);
  if (r !== 0) return;
  const tensors = new Map<string, Tensor>();
  for (const [name, p] of model.namedParameters()) if (p.grad !== null) tensors.set(`grad.${name}`, p.grad);
  for (const [name, b] of model.namedBuffers()) if (name.endsWith('running_mean') || name.endsWith('running_var')) tensors.set(`buffer.${name}`, b);
  await saveSafetensors(job.out, tensors);
}

async function evaluation(job: Extract<WorkerJob, { mode: 'eval' }>, group: C10dProcessGroup | null): Promise<void> {
  const config = parseTrainConfig(job.config);
  torch.setNumThreads(1);
  torch.manualSeed(11);
  const model = await buildModel(config);
  group?.broadcastParameters(model);
  const pool = await SamplePool.create(0);
  try {
    const result = await validate(model, config, pool, group);
    await writeFile(job.out.replace('{rank}', String(job.rank)), JSON.stringify(result));
  } finally {
    await pool.close();
  }
}

const job = JSON.parse(process.argv[2]) as WorkerJob;
const group =
  job.world > 1 ? await initProcessGroup({ rank: job.rank, worldSize: job.world, masterAddr: '127.0.0.1', masterPort: job.port, timeoutSeconds: 60 }) : null;
if (job.mode === 'grads') await gradients(job, group);
else await evaluation(job, group);
await group?.close();
