import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPool, ThreadPool } from '../../src/jobs/pool.js';
import { spawnModuleWorker } from '../../src/jobs/threads.js';
import type { TestTask } from './pool-worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('runPool: results in item order, at most `concurrency` in flight, failures collected', async () => {
  let inFlight = 0,
    most = 0;
  const results = await runPool([5, 1, 4, 2, 3, 0, 6], 3, async (ms, i) => {
    most = Math.max(most, ++inFlight);
    await sleep(ms * 3);
    inFlight--;
    if (ms === 4) throw new Error(`item ${i} failed`);
    return ms * 10;
  });
  assert.equal(most, 3);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [50, 10, 'item 2 failed', 20, 30, 0, 60],
  );
});

test('runPool: an abort starts nothing new, lets running items finish, then rejects with its reason', async () => {
  const controller = new AbortController();
  const started: number[] = [],
    finished: number[] = [];
  const run = runPool(
    [0, 1, 2, 3, 4, 5],
    2,
    async (_, i) => {
      started.push(i);
      if (i === 1) controller.abort(new Error('stopped'));
      await sleep(10);
      finished.push(i);
    },
    controller.signal,
  );
  await assert.rejects(run, /stopped/);
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(finished.sort(), [0, 1]);
});

function pool(o: { size: number; perWorker: number; broken?: boolean; signal?: AbortSignal }) {
  const deaths: string[] = [];
  let spawned = 0;
  const threads = new ThreadPool<TestTask, number>({
    size: o.size,
    perWorker: o.perWorker,
    signal: o.signal,
    spawn: () => {
      spawned++;
      return spawnModuleWorker(import.meta.url, 'pool-worker', { workerData: { broken: o.broken ?? false } });
    },
    died: (task, why) => {
      deaths.push(`${String(task)}: ${why}`);
      return -1;
    },
  });
  return { threads, deaths, spawned: () => spawned };
}

test('ThreadPool: a task that kills its worker fails alone; the tasks that shared the worker are rerun and complete', async (t) => {
  const { threads, deaths, spawned } = pool({ size: 2, perWorker: 2 });
  t.after(() => threads.close());
  const tasks: TestTask[] = [1, 2, 'die', 4, 5, 6, 7];
  const results = await runPool(tasks, 4, (task) => threads.run(task));
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason)),
    [1, 4, -1, 16, 25, 36, 49],
  );
  assert.deepEqual(deaths, ['die: exit code 3'], 'died() once, for the task that kills its worker when alone');
  assert.ok(spawned() >= 4, `each death is replaced: ${spawned()} workers started`);
});

test('ThreadPool: a worker that cannot load rejects every task with its error (a broken install)', async (t) => {
  const { threads, deaths } = pool({ size: 2, perWorker: 2, broken: true });
  t.after(() => threads.close());
  const results = await runPool([1, 2, 3], 4, (task) => threads.run(task));
  for (const r of results) assert.ok(r.status === 'rejected' && /broken install/.test(String(r.reason)), JSON.stringify(r));
  assert.deepEqual(deaths, []);
});

test('ThreadPool: after an abort, waiting tasks reject with its reason', async (t) => {
  const controller = new AbortController();
  const { threads } = pool({ size: 1, perWorker: 1, signal: controller.signal });
  t.after(() => threads.close());
  const first = threads.run(3),
    second = threads.run(4);
  controller.abort(new Error('stop'));
  await assert.rejects(first, /stop/);
  await assert.rejects(second, /stop/);
});
