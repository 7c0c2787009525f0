import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadReply, ThreadRequest } from '../../src/jobs/pool.js';

/** A ThreadPool worker for the tests: `n` → n² (after 20 ms), `die` → the thread exits mid-task. */
export type TestTask = number | 'die';

const port = parentPort;
if (port === null) throw new Error('pool-worker must run in a worker thread');
if ((workerData as { broken?: boolean } | undefined)?.broken) throw new Error('cannot load: broken install');
port.on('message', (request: ThreadRequest<TestTask>) => {
  const { task } = request;
  if (task === 'die') process.exit(3);
  // answer later, so that a second task on this worker is in flight meanwhile
  setTimeout(() => port.postMessage({ id: request.id, outcome: task * task } satisfies ThreadReply<number>), 20);
});
port.postMessage('ready' satisfies ThreadReply<number>);
