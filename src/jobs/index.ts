/** Worker threads for every stage: the thread pool and the module-worker spawner (tsx-aware). */
export { runPool, ThreadPool, type ThreadPoolOptions, type ThreadReply, type ThreadRequest } from './pool.js';
export { spawnModuleWorker } from './threads.js';
