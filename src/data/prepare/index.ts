/** The prepare stage (frames → faces → crops → masks → manifest) and its runners: a local thread pool or the Redis queue. */
export { PrepareOptions, optionsKey, parsePrepareOptions } from './options.js';
export { cropPath, jobRecordPath, maskPath, planPrepare, type Plan, type PrepareJob } from './plan.js';
export { finishedRecord, hasFailures, inputsKey, processJob, type JobDeps, type JobRecord, type PrepareEvent, type PrepareStage, type Skip } from './job.js';
export { assembleOutputs, type PrepareReport } from './assemble.js';
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
