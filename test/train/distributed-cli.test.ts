import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistributedError } from '../../src/train/errors.js';
import { launchWorkers } from '../../src/train/launch.js';
import { runCli, startCli } from '../helpers/cli.js';
import { readSafetensors } from '../helpers/safetensors.js';
import { writeSyntheticSet } from './synthetic.js';

// `msccnet train --nproc 2` against one process, same global batch: each sample is augmented
// alike whatever the process count (keyed by its place in the epoch's permutation) and SyncBN
// makes the statistics the global batch's, so the first step's losses (averaged over the ranks
// for the log) are the one-process ones. Later steps drift apart by float32 rounding only (this
// net amplifies it; the exact check is distributed.test.ts's, in float64).
test('msccnet train --nproc 2 follows the one-process run; rank 0 alone writes the run folder', { timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-ddp-cli-'));
  try {
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 6, val: 1, seed: 4 });
    const config = (run: string) => ({
      data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 64, workers: 0, prefetch: 1 },
      model: { backboneDepth: 18, inputSize: 64, featsChannels: 64, dropout: 0 }, // dropout draws differ per rank
      batchSize: 4,
      epochs: 1,
      optim: { lr: 0.01 },
      run: { dir: join(dir, run), maxSteps: 2, threads: 1, logEvery: 1, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
    });
    for (const run of ['one', 'two']) await writeFile(join(dir, `${run}.json`), JSON.stringify(config(run)));
    const one = await runCli(['train', '--config', join(dir, 'one.json')]);
    assert.equal(one.code, 0, one.stderr);
    const two = await runCli(['train', '--config', join(dir, 'two.json'), '--nproc', '2']);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stdout, /^2 steps; last checkpoint /m);
    assert.equal(two.stdout.match(/steps; last checkpoint/g)?.length, 1, 'only rank 0 prints the summary');

    const log = async (run: string): Promise<Record<string, number>[]> =>
      (await readFile(join(dir, run, 'log.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, number>);
    const [logOne, logTwo] = [await log('one'), await log('two')];
    assert.deepEqual(
      logTwo.filter((r) => String(r.event) === 'start').map((r) => [r.world, r.localBatch]),
      [[2, 2]],
    );
    const steps = logTwo.filter((r) => String(r.event) === 'step');
    assert.equal(steps.length, 2, 'one log line per step: rank 0 writes alone');
    const first = logOne.find((r) => String(r.event) === 'step')!;
    for (const k of ['img_cls', 'pix_cls_map', 'pix_cls_mask', 'total']) {
      const rel = Math.abs(steps[0][k] - first[k]) / Math.abs(first[k]);
      assert.ok(rel < 1e-5, `step 1 ${k}: ${steps[0][k]} with 2 processes, ${first[k]} with one`);
    }
    const [a, b] = await Promise.all(
      ['one', 'two'].map(async (run) => {
        const ckpts = (await readdir(join(dir, run, 'checkpoints'))).filter((n) => /^step-/.test(n));
        assert.equal(ckpts.length, 1);
        return readSafetensors(join(dir, run, 'checkpoints', ckpts[0], 'model.safetensors'));
      }),
    );
    let diff = 0,
      norm = 0;
    for (const [name, ta] of a.tensors) {
      if (ta.dtype !== 'F32') continue;
      const tb = b.tensors.get(name)!;
      for (let i = 0; i < ta.data.length; i++) {
        diff += (ta.data[i] - Number(tb.data[i])) ** 2;
        norm += ta.data[i] ** 2;
      }
    }
    t.diagnostic(`state dict after 2 steps, 2 processes vs 1: relative difference ${Math.sqrt(diff / norm).toExponential(2)}`);
    assert.ok(Math.sqrt(diff / norm) < 1e-3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('one failing rank stops the others and names itself', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-launch-'));
  try {
    const script = join(dir, 'rank.mjs');
    // rank 1 fails at once; rank 0 would wait forever, as a rank blocked in a collective does
    await writeFile(
      script,
      `import { writeFileSync } from 'node:fs';
const rank = process.argv[process.argv.indexOf('--rank') + 1];
writeFileSync(${JSON.stringify(dir)} + '/pid-' + rank, String(process.pid));
if (rank === '1') setTimeout(() => process.exit(3), 300); else setInterval(() => {}, 1000);
`,
    );
    await assert.rejects(
      launchWorkers({ nproc: 2, script, execArgv: [], args: [], masterAddr: '127.0.0.1', masterPort: 1 }),
      (err: unknown) => err instanceof DistributedError && /rank 1 of 2 exited with code 3; the other ranks were stopped/.test(err.message),
    );
    const pid = Number(await readFile(join(dir, 'pid-0'), 'utf8'));
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'rank 0 must not outlive the launch');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// A rank blocked in a native collective never runs a JavaScript SIGTERM handler (rank 0 has one:
// its folder lock's). Atomics.wait blocks the main thread the same way.
test('a rank that ignores SIGTERM is killed after the grace period; the error names the rank killed from outside', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-launch-'));
  try {
    const script = join(dir, 'rank.mjs');
    await writeFile(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
const dir = ${JSON.stringify(dir)};
const rank = process.argv[process.argv.indexOf('--rank') + 1];
if (rank === '0') {
  process.on('SIGTERM', () => {});
  writeFileSync(dir + '/pid-0', String(process.pid));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
} else {
  const poll = setInterval(() => { if (existsSync(dir + '/pid-0')) { clearInterval(poll); process.kill(process.pid, 'SIGKILL'); } }, 20);
}
`,
    );
    const t0 = Date.now();
    await assert.rejects(
      launchWorkers({ nproc: 2, script, execArgv: [], args: [], masterAddr: '127.0.0.1', masterPort: 1, killAfterMs: 1000 }),
      (err: unknown) =>
        err instanceof DistributedError &&
        /^rank 1 of 2 was killed by SIGKILL; 1 other rank\(s\) ignored SIGTERM and were killed$/.test(err.problem) &&
        /killed from outside/.test(err.hint),
    );
    assert.ok(Date.now() - t0 < 30_000, `the launch took ${Date.now() - t0} ms`);
    const pid = Number(await readFile(join(dir, 'pid-0'), 'utf8'));
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'rank 0 must not outlive the launch');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The PID of the `--rank r` worker among the launcher's children (Linux /proc). */
async function rankPid(launcher: number, rank: number): Promise<number | null> {
  const children = (await readFile(`/proc/${launcher}/task/${launcher}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean);
  for (const pid of children) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[argv.indexOf('--rank') + 1] === String(rank)) return Number(pid);
  }
  return null;
}

test('train --nproc 2 with rank 1 killed (SIGKILL) mid-run: one line naming it, exit 1, and --resume finishes the run', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-ddp-kill-'));
  try {
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 32, train: 8, val: 1, seed: 5 });
    const runDir = join(dir, 'run');
    await writeFile(
      join(dir, 'cfg.json'),
      JSON.stringify({
        data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], cropSize: 32, workers: 0, prefetch: 1 },
        model: { backboneDepth: 18, inputSize: 32, featsChannels: 32, dropout: 0 },
        batchSize: 2,
        epochs: 100,
        run: { dir: runDir, maxSteps: 6, threads: 1, logEvery: 1, valEveryEpochs: 1000, checkpointEveryEpochs: 1000, checkpointEverySteps: 2 },
      }),
    );
    const steps = async (): Promise<number[]> =>
      (await readFile(join(runDir, 'log.jsonl'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; step: number })
        .filter((r) => r.event === 'step')
        .map((r) => r.step);
    const run = startCli(['train', '--config', join(dir, 'cfg.json'), '--nproc', '2']);
    let victim: number | null = null;
    while (victim === null && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
      if ((await steps()).length >= 3) victim = await rankPid(run.child.pid!, 1);
    }
    assert.ok(victim !== null, 'rank 1 was not found mid-run');
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const killed = await run.done;
    const seconds = (Date.now() - killedAt) / 1000;
    t.diagnostic(`the launcher exited ${seconds.toFixed(2)} s after rank 1 was killed`);
    assert.equal(killed.code, 1);
    assert.ok(seconds < 30, `the launcher took ${seconds} s`);
    // rank 0 may report its own failed collective first; the launcher's last line names the dead rank
    const lines = killed.stderr.split('\n').filter((l) => l.startsWith('msccnet:'));
    assert.equal(lines.at(-1), 'msccnet: rank 1 of 2 was killed by SIGKILL; the other ranks were stopped');
    const resumed = await runCli(['train', '--config', join(dir, 'cfg.json'), '--nproc', '2', '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^6 steps; last checkpoint /m);
    assert.deepEqual(await steps(), [1, 2, 3, 4, 5, 6], 'every step logged once');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
