/** Loader worker thread: runs LoadTasks one message at a time and posts the results back. */
import { parentPort } from 'node:worker_threads';
import { runTask, transferList, type LoadTask } from './load.js';
import { loadImageOps } from '../image/index.js';

const ops = await loadImageOps();
parentPort?.on('message', (msg: { id: number; task: LoadTask }) => {
  void runTask(ops, msg.task).then((result) => parentPort?.postMessage({ id: msg.id, result }, transferList(result)));
});
parentPort?.postMessage({ ready: true });
