/**
 * Data-parallel figures (npm run bench:ddp [side=128] [globalBatch=4] [steps=4]):
 * 1. Gloo all-reduce bandwidth between 2 processes on loopback (algorithm bandwidth = bytes / time).
 * 2. One training step (forward, backward, gradient all-reduce, SGD) of MSCCNet (ResNet-18 backbone)
 *    with the same global batch: 1 process × batch B (all threads) against 2 processes × B/2 with
 *    SyncBN (threads split between them), alternated so both see the same machine load.
 * One JSON line per figure, with the load average; never fails.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MsccnetMethod } from '../src/models/index.js';
import { SGD } from '../src/nn/index.js';
import { torch } from '../src/torch/index.js';
import { initProcessGroup, type C10dProcessGroup } from '../src/train/distributed.js';
import { freePort } from '../src/train/launch.js';

interface Job {
  role: 'allreduce' | 'step';
  rank: number;
  world: number;
  port: number;
  side: number;
  batch: number;
  steps: number;
  threads: number;
}

function allReduceBandwidth(group: C10dProcessGroup): void {
  for (const mib of [1, 16, 64]) {
    const t = torch.ones([(mib * 1024 * 1024) / 4]);
    const reps = mib === 64 ? 5 : 20;
    group.allReduce(t); // warm-up: connections, buffers
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) group.allReduce(t);
    const seconds = (performance.now() - t0) / 1000 / reps;
    if (group.rank === 0) {
      console.log(
        JSON.stringify({
          bench: 'gloo.allreduce',
          processes: 2,
          mib,
          msPerAllReduce: +(seconds * 1000).toFixed(2),
          algorithmGBps: +((mib * 1024 * 1024) / seconds / 1e9).toFixed(3),
          load1: +loadavg()[0].toFixed(2),
        }),
      );
    }
    t.dispose();
  }
}

function stepTimes(job: Job, group: C10dProcessGroup | null): number[] {
  torch.setNumThreads(job.threads);
  torch.manualSeed(1);
  const model = new MsccnetMethod({ backboneDepth: 18, inputSize: job.side, featsChannels: 64 });
  group?.broadcastParameters(model);
  group?.synchronizeBatchNorm(model, true);
  const optimizer = new SGD(model.parameters(), { lr: 0.009, momentum: 0.9, weightDecay: 5e-4 });
  const B = job.batch / job.world;
  const S = job.side;
  const times: number[] = [];
  for (let s = 0; s <= job.steps; s++) {
    // step 0 warms up and is not counted
    const t0 = performance.now();
    torch.tidy(() => {
      model.train();
      optimizer.zeroGrad();
      const x = torch.randn([B, 3, S, S]);
      const segmentation = torch.randint(0, 2, [B, S, S], { dtype: 'int64' });
      const label = torch.randint(0, 2, [B], { dtype: 'int64' });
      model.losses(model.forward(x), { segmentation, label, image: x }).total.backward();
      group?.allReduceGradients(model);
      optimizer.step();
      return null;
    });
    if (s > 0) times.push((performance.now() - t0) / 1000);
  }
  return times;
}

async function worker(job: Job): Promise<void> {
  const group =
    job.world > 1 ? await initProcessGroup({ rank: job.rank, worldSize: job.world, masterAddr: '127.0.0.1', masterPort: job.port, timeoutSeconds: 600 }) : null;
  if (job.role === 'allreduce') allReduceBandwidth(group!);
  else if (job.rank === 0) console.log(JSON.stringify(stepTimes(job, group)));
  else stepTimes(job, group);
  await group?.close();
}

async function run(job: Omit<Job, 'rank' | 'port'>): Promise<string> {
  const port = await freePort();
  const outs = await Promise.all(
    Array.from(
      { length: job.world },
      (_, rank) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify({ ...job, rank, port })], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`rank ${rank} exited with ${code}`))));
        }),
    ),
  );
  return outs[0];
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

if (process.argv[2]?.startsWith('{')) {
  await worker(JSON.parse(process.argv[2]) as Job);
} else {
  const [side = 128, batch = 4, steps = 4] = process.argv.slice(2).map(Number);
  const cores = 2;
  process.stdout.write(await run({ role: 'allreduce', world: 2, side, batch, steps, threads: 1 }));
  // one process with 1 thread too: on a busy machine, 2 threads spinning in OpenMP barriers suffer more than 2 processes
  const one: number[] = [];
  const oneSingle: number[] = [];
  const two: number[] = [];
  for (let round = 0; round < 2; round++) {
    // alternate the three, twice
    one.push(...(JSON.parse(await run({ role: 'step', world: 1, side, batch, steps, threads: cores })) as number[]));
    oneSingle.push(...(JSON.parse(await run({ role: 'step', world: 1, side, batch, steps, threads: 1 })) as number[]));
    two.push(...(JSON.parse(await run({ role: 'step', world: 2, side, batch, steps, threads: cores / 2 })) as number[]));
  }
  console.log(
    JSON.stringify({
      bench: 'ddp.step',
      side,
      globalBatch: batch,
      stepsPerRun: steps,
      oneProcess: { threads: cores, medianSeconds: +median(one).toFixed(3) },
      oneProcessOneThread: { threads: 1, medianSeconds: +median(oneSingle).toFixed(3) },
      twoProcesses: { threadsEach: cores / 2, syncBn: true, medianSeconds: +median(two).toFixed(3) },
      ratioTwoToOne: +(median(two) / median(one)).toFixed(3),
      load1: +loadavg()[0].toFixed(2),
    }),
  );
}
