export { runPool, ThreadPool, type ThreadPoolOptions, type ThreadReply, type ThreadRequest } from './pool.js';
export { runPrepare, type RunPrepareOptions } from './prepare.js';
export {
  DEFAULT_QUEUE,
  QueueConnectionError,
  enqueuePrepare,
  openQueue,
  startPrepareWorker,
  waitForJobs,
  type PrepareJobData,
  type PrepareJobResult,
  type QueueConnection,
  type WorkerOptions,
} from './queue.js';
