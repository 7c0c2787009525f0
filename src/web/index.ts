/** The web page's server side: the fastify app of `msccnet serve` and its parts. */
export { buildServer, DEFAULT_LIMITS, PAGE_DIR, UploadError, type DetectResponse, type InfoResponse, type LogLevel, type ServerLimits, type ServerOptions } from './server.js';
export { WorkQueue, QueueFullError, RequestAbortedError, RequestTimeoutError } from './queue.js';
export { sniffImage, type ImageMime } from './sniff.js';
export { heatmapRgba } from './heatmap.js';
