/** The prepare stage (frames → faces → crops → masks → manifest) and its runners: a local thread pool or the Redis queue. */
export {
  PrepareOptions,
  assembleOutputs,
  parsePrepareOptions,
  planPrepare,
  processJob,
  type JobRecord,
  type Plan,
  type PrepareEvent,
  type PrepareJob,
  type PrepareReport,
  type PrepareStage,
  type Skip,
} from './prepare.js';
export { runPrepare, type RunPrepareOptions } from './pool.js';
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
