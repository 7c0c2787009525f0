/** The web page's server side: the fastify app of `msccnet serve` and its parts, and the API's schemas. */
export { buildServer, DEFAULT_LIMITS, PAGE_DIR, type LogLevel, type ServerOptions } from './server.js';
export { UploadError } from './upload.js';
export {
  API,
  DetectQueryJson,
  DetectResponseJson,
  ErrorResponseJson,
  InfoResponseJson,
  ServerLimitsJson,
  routeSchema,
  type ApiRoute,
  type DetectQuery,
  type DetectResponse,
  type ErrorResponse,
  type InfoResponse,
  type JsonSchema,
  type ServerLimits,
} from './api.js';
export { WorkQueue, QueueFullError, RequestAbortedError, RequestTimeoutError } from './queue.js';
export { sniffImage, type ImageMime } from '../image/sniff.js';
export { heatmapRgba } from './heatmap.js';
