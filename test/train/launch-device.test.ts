import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initProcessGroup, resolveBackend } from '../../src/train/distributed.js';
import { DistributedError } from '../../src/train/errors.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredDevice, freePort, launchWorkers, localRank, rankDevice } from '../../src/train/launch.js';
import { distributedNative } from '../../src/torch/index.js';

test('--nproc on a machine with GPUs: rank r trains on cuda:r (LOCAL_RANK), for cuda and auto', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => rankDevice('cuda', r, 4, 4)),
    ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3'],
  );
  assert.deepEqual(
    [0, 1].map((r) => rankDevice('auto', r, 2, 8)),
    ['cuda:0', 'cuda:1'],
  );
  assert.equal(rankDevice('cuda:3', 0, 1, 4), 'cuda:3', 'one process keeps the GPU it was given');
});

test('on the CPU, or asked for it, every rank trains on the CPU', () => {
  assert.deepEqual(
    [0, 1].map((r) => rankDevice('auto', r, 2, 0)),
    ['cpu', 'cpu'],
  );
  assert.deepEqual(
    [0, 1].map((r) => rankDevice('cpu', r, 2, 4)),
    ['cpu', 'cpu'],
  );
});

test('more ranks than GPUs, one fixed GPU for several ranks, and an unknown device are DistributedErrors', () => {
  assert.throws(
    () => rankDevice('cuda', 2, 3, 2),
    (e: unknown) => e instanceof DistributedError && /cuda:2.*2 GPUs/.test(e.message) && /--nproc 2 or fewer/.test(e.message),
  );
  assert.throws(
    () => rankDevice('cuda', 0, 1, 0),
    (e: unknown) => e instanceof DistributedError && /no GPU/.test(e.message),
  );
  assert.throws(
    () => rankDevice('cuda:1', 0, 2, 4),
    (e: unknown) => e instanceof DistributedError && /names one GPU/.test(e.message),
  );
  assert.throws(() => rankDevice('tpu', 0, 1, 4), DistributedError);
});

test('distributed.backend auto: nccl for a GPU, gloo for the CPU; an explicit choice stays', () => {
  assert.equal(resolveBackend('auto', 'cuda:1'), 'nccl');
  assert.equal(resolveBackend('auto', 'cuda'), 'nccl');
  assert.equal(resolveBackend('auto', 'cpu'), 'gloo');
  assert.equal(resolveBackend('gloo', 'cuda:0'), 'gloo');
  assert.equal(resolveBackend('nccl', 'cpu'), 'nccl');
});

test('LOCAL_RANK and the config device are read with their defaults', () => {
  assert.equal(localRank({ LOCAL_RANK: '3' }), 3);
  assert.equal(localRank({}), 0);
  assert.equal(configuredDevice({ device: 'cuda:1' }), 'cuda:1');
  assert.equal(configuredDevice({}), 'auto');
});

test(
  'nccl on an addon built without it is a DistributedError before any rendezvous',
  { skip: distributedNative().pgBackends().includes('nccl') && 'this addon has NCCL' },
  async () => {
    assert.deepEqual(distributedNative().pgBackends(), ['gloo']);
    const port = await freePort();
    await assert.rejects(
      initProcessGroup({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutSeconds: 1, backend: 'nccl', device: 'cuda:0' }),
      (e: unknown) => e instanceof DistributedError && /built against a CUDA libtorch with NCCL/.test(e.message) && /LIBTORCH=python/.test(e.message),
    );
  },
);

test('launchWorkers tells each rank its LOCAL_RANK and, on GPUs, its device through --set device=cuda:r', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-launch-'));
  try {
    // a stand-in worker: records what it was started with
    const script = join(dir, 'worker.mjs');
    await writeFile(
      script,
      "import { writeFileSync } from 'node:fs';\n" +
        "const a = process.argv.slice(2); const rank = a[a.indexOf('--rank') + 1];\n" +
        `writeFileSync(${JSON.stringify(dir)} + '/rank-' + rank + '.json', JSON.stringify({ args: a, localRank: process.env.LOCAL_RANK }));\n`,
    );
    const seen = async (rank: number): Promise<{ args: string[]; localRank: string }> => JSON.parse(await readFile(join(dir, `rank-${rank}.json`), 'utf8'));
    await launchWorkers({
      nproc: 2,
      script,
      execArgv: [],
      args: ['train', '--config', 'run.yaml'],
      masterAddr: '127.0.0.1',
      masterPort: 1,
      device: 'auto',
      gpus: 2,
    });
    for (const rank of [0, 1]) {
      const { args, localRank: lr } = await seen(rank);
      assert.equal(lr, String(rank));
      assert.deepEqual(args.slice(0, 5), ['train', '--config', 'run.yaml', '--set', `device=cuda:${rank}`]);
    }
    await launchWorkers({ nproc: 2, script, execArgv: [], args: ['train'], masterAddr: '127.0.0.1', masterPort: 1, device: 'auto', gpus: 0 });
    assert.ok(!(await seen(1)).args.includes('--set'), 'on the CPU the config is left as it is');
    await assert.rejects(
      launchWorkers({ nproc: 3, script, execArgv: [], args: ['train'], masterAddr: '127.0.0.1', masterPort: 1, device: 'cuda', gpus: 2 }),
      (e: unknown) => e instanceof DistributedError && /rank 2 would train on cuda:2/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
