// The device discipline of training, validation, checkpoints and the torch inference engine,
// proved on the CPU: under the device-checking backend (src/torch/testing.ts) a run with
// device cuda:0 computes on the CPU but throws wherever libtorch on a GPU would refuse (mixed
// devices, host reads of device tensors). It must run without error and give the CPU run's
// numbers bit for bit, and read a constant number of host copies per step whatever the depth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors } from '../../src/nn/index.js';
import { backend, torch, useBackend, type Backend } from '../../src/torch/index.js';
import { deviceCheckingBackend, type TransferCounts } from '../../src/torch/testing.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train, type TrainEvent, type TrainSummary } from '../../src/train/trainer.js';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { createTorchEngine } from '../../src/infer/engines.js';
import { writeSyntheticSet, type SyntheticSet } from './synthetic.js';

const checking = deviceCheckingBackend(backend());

/** Runs fn with the pretend-GPU backend active for its whole (async) duration. */
async function onPretendGpu<R>(fn: () => Promise<R>): Promise<R> {
  const previous: Backend | null = useBackend(checking.backend);
  try {
    return await fn();
  } finally {
    useBackend(previous);
  }
}

const SIDE = 32;
let set: SyntheticSet;
let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'msccnet-device-'));
  set = await writeSyntheticSet(join(root, 'data'), { side: SIDE, train: 4, val: 2, seed: 7 });
});
test.after(() => rm(root, { recursive: true, force: true })); // its runs' checkpoints are about 1 GB

function config(runDir: string, o: { device: string; maxSteps: number; depth?: 18 | 34; validate?: boolean }): TrainConfigInput {
  return {
    data: {
      manifest: set.manifest,
      compression: 'c23',
      methods: ['Deepfakes'],
      augment: 'official',
      cropSize: SIDE,
      scaleBase: SIDE + 1,
      workers: 0,
      prefetch: 1,
    },
    model: { backboneDepth: o.depth ?? 18, inputSize: SIDE, featsChannels: 64 },
    batchSize: 2,
    microBatch: 1,
    epochs: 2,
    optim: { lr: 0.01 }, // 4 steps per epoch; two passes per step
    run: { dir: runDir, maxSteps: o.maxSteps, threads: 2, valEveryEpochs: o.validate ? 1 : 100, checkpointEveryEpochs: 100 },
    device: o.device,
  };
}

interface Run {
  summary: TrainSummary;
  losses: Record<string, number>[];
  copies: TransferCounts[];
}

async function run(cfg: TrainConfigInput, opts: { resume?: boolean; pretend: boolean }): Promise<Run> {
  const losses: Record<string, number>[] = [];
  const copies: TransferCounts[] = [];
  const onEvent = (e: TrainEvent): void => {
    if (e.kind !== 'step') return;
    losses.push({ ...e.losses });
    copies.push({ ...checking.counts }); // between two step events only the step itself touched tensors
    checking.resetCounts();
  };
  const go = () => train(parseTrainConfig(cfg), { onEvent, resume: opts.resume });
  checking.resetCounts();
  const summary = opts.pretend ? await onPretendGpu(go) : await go();
  return { summary, losses, copies };
}

async function assertSameCheckpoint(a: string, b: string): Promise<void> {
  for (const file of ['model.safetensors', 'optimizer.safetensors']) {
    const x = await loadSafetensors(join(a, file));
    const y = await loadSafetensors(join(b, file));
    assert.deepEqual([...x.tensors.keys()], [...y.tensors.keys()]);
    for (const [k, t] of x.tensors) {
      assert.ok(Buffer.from(t.toTypedArray().buffer).equals(Buffer.from(y.tensors.get(k)!.toTypedArray().buffer)), `${file}: ${k} differs`);
    }
  }
}

test('under the checking backend, mixing devices and host reads of device tensors throw as on a GPU', () => {
  const previous = useBackend(checking.backend);
  try {
    const g = torch.ones([2, 2], { device: 'cuda:0' });
    const c = torch.ones([2, 2]);
    assert.equal(g.device, 'cuda:0');
    assert.throws(() => g.add(c), { name: 'DeviceDisciplineError', message: /cuda:0 and cpu/ });
    assert.throws(() => g.sum().item(), { name: 'DeviceDisciplineError', message: /host read/ });
    assert.throws(() => g.toTypedArray(), { name: 'DeviceDisciplineError' });
    assert.deepEqual(
      g
        .mul(torch.tensor([3], []))
        .to('cpu')
        .toArray(),
      [3, 3, 3, 3],
    ); // a 0-d CPU tensor is a scalar
    checking.resetCounts();
    assert.equal(g.sum().to('cpu').item(), 4);
    assert.equal(checking.counts.deviceToHost, 1);
    const pinned = c.pinMemory();
    assert.ok(pinned.isPinned && !c.isPinned);
    pinned.to('cuda:0', { nonBlocking: true });
    c.to('cuda:0');
    assert.deepEqual([checking.counts.hostToDevice, checking.counts.blockingHostToDevice], [2, 1]);
  } finally {
    useBackend(previous);
  }
});

test("train, validate and checkpoint on a pretend cuda:0: the CPU run's numbers, one host copy per step", { timeout: 600_000 }, async () => {
  const cpu = await run(config(join(root, 'cpu'), { device: 'cpu', maxSteps: 4, validate: true }), { pretend: false });
  const gpu = await run(config(join(root, 'gpu'), { device: 'cuda:0', maxSteps: 4, validate: true }), { pretend: true });
  assert.deepEqual(gpu.losses, cpu.losses);
  assert.ok(gpu.summary.validation !== null);
  assert.deepEqual(gpu.summary.validation.official, cpu.summary.validation!.official); // validation after epoch 1 (step 4)
  await assertSameCheckpoint(gpu.summary.lastCheckpoint!, cpu.summary.lastCheckpoint!);
  // every step after the first (which also moved the model): its losses come back in one copy;
  // its six batch tensors (two passes × image, mask, label) go over pinned and non-blocking
  assert.equal(gpu.copies.length, 4);
  for (const c of gpu.copies.slice(1)) assert.deepEqual(c, { deviceToHost: 1, hostToDevice: 6, blockingHostToDevice: 0 });
});

test('host copies per training step do not grow with the network depth (ResNet-18 vs ResNet-34)', { timeout: 600_000 }, async () => {
  const shallow = await run(config(join(root, 'r18'), { device: 'cuda:0', maxSteps: 2, depth: 18 }), { pretend: true });
  const deep = await run(config(join(root, 'r34'), { device: 'cuda:0', maxSteps: 2, depth: 34 }), { pretend: true });
  assert.deepEqual(shallow.copies[1], { deviceToHost: 1, hostToDevice: 6, blockingHostToDevice: 0 });
  assert.deepEqual(deep.copies[1], shallow.copies[1]);
  assert.ok(deep.copies[0].hostToDevice > shallow.copies[0].hostToDevice); // the first step includes moving the model, which does grow
});

test('a run saved on cuda:0 resumes on the CPU, and one saved on the CPU resumes on cuda:0, bit for bit', { timeout: 600_000 }, async () => {
  const straight = await run(config(join(root, 'straight'), { device: 'cpu', maxSteps: 4 }), { pretend: false });
  await run(config(join(root, 'g2c'), { device: 'cuda:0', maxSteps: 2 }), { pretend: true });
  const g2c = await run(config(join(root, 'g2c'), { device: 'cpu', maxSteps: 4 }), { pretend: false, resume: true });
  await run(config(join(root, 'c2g'), { device: 'cpu', maxSteps: 2 }), { pretend: false });
  const c2g = await run(config(join(root, 'c2g'), { device: 'cuda:0', maxSteps: 4 }), { pretend: true, resume: true });
  assert.deepEqual(g2c.losses, straight.losses.slice(2));
  assert.deepEqual(c2g.losses, straight.losses.slice(2));
  await assertSameCheckpoint(g2c.summary.lastCheckpoint!, straight.summary.lastCheckpoint!);
  await assertSameCheckpoint(c2g.summary.lastCheckpoint!, straight.summary.lastCheckpoint!);
});

test("the torch inference engine on a pretend cuda:0 gives the CPU engine's outputs, with one host copy per batch", async () => {
  const input = Float32Array.from({ length: 2 * 3 * SIDE * SIDE }, (_, i) => Math.sin(i * 0.37));
  const make = () => {
    torch.manualSeed(3);
    return buildMsccnet('msccnet', { backboneDepth: 18, inputSize: SIDE, featsChannels: 64 });
  };
  const cpuEngine = createTorchEngine(make(), { device: 'cpu' });
  const expected = await cpuEngine.run(input, 2);
  await cpuEngine.release();
  const got = await onPretendGpu(async () => {
    const engine = createTorchEngine(make(), { device: 'cuda:0' });
    checking.resetCounts();
    const out = await engine.run(input, 2);
    assert.equal(checking.counts.deviceToHost, 1);
    await engine.release();
    return out;
  });
  assert.deepEqual(got, expected);
});
