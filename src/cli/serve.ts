import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { InputFileError, ioErrorOf } from '../errors.js';
import { loadFaceDetector } from '../data/faces.js';
import { createOrtEngine, exportedModelBytes } from '../infer/engines.js';
import { methodOption } from './method-option.js';
import { buildServer, DEFAULT_LIMITS, type LogLevel } from '../web/index.js';
import { positiveInt, positiveNumber, probability, trustProxy } from './args.js';

interface ServeCliOptions {
  model: string;
  port: number;
  host: string;
  threads?: number;
  maxMb: number;
  maxMegapixels: number;
  concurrency: number;
  queue: number;
  timeout: number;
  uploadTimeout: number;
  maxPerClient: number;
  trustProxy?: number | string[];
  headerTimeout: number;
  maxConnections: number;
  sendTimeout: number;
  maxAnswerMb: number;
  threshold: number;
  logLevel: LogLevel;
  quiet?: boolean;
  method?: string;
}

/** `msccnet serve`: the web page and `POST /api/detect` on loopback by default. */
export function makeServeCommand(): Command {
  return new Command('serve')
    .description('serve the checking page (in-browser or server inference) and POST /api/detect')
    .requiredOption(
      '-m, --model <file|dir>',
      'model.onnx from `msccnet export` (also sent to browsers that check locally), or weights .safetensors / a run folder (exported in memory)',
    )
    .addOption(methodOption())
    .option('--port <n>', 'TCP port', positiveInt, 8080)
    .option('--host <addr>', 'address to listen on (0.0.0.0 exposes it to the network)', '127.0.0.1')
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('--max-mb <n>', 'largest upload in MiB', positiveNumber, DEFAULT_LIMITS.maxBytes / 2 ** 20)
    .option('--max-megapixels <n>', 'largest image in megapixels', positiveNumber, DEFAULT_LIMITS.maxPixels / 1e6)
    .option('--concurrency <n>', 'images analysed at once', positiveInt, DEFAULT_LIMITS.concurrency)
    .option('--queue <n>', 'requests that may wait; more get 503', positiveInt, DEFAULT_LIMITS.maxWaiting)
    .option('--timeout <s>', 'seconds per request, from its complete upload to the answer', positiveNumber, DEFAULT_LIMITS.timeoutSeconds)
    .option('--upload-timeout <s>', 'seconds to receive an upload; slower clients get 408', positiveNumber, DEFAULT_LIMITS.uploadSeconds)
    .option('--max-per-client <n>', 'requests one client address may have in progress; more get 429', positiveInt, DEFAULT_LIMITS.maxPerClient)
    .option(
      '--trust-proxy <proxies>',
      'take the client address from X-Forwarded-For when the peer is one of these proxies (addresses or CIDR ranges, comma-separated) or within this many hops (default off)',
      trustProxy,
    )
    .option('--header-timeout <s>', 'seconds a connection may stay open without sending a request', positiveNumber, DEFAULT_LIMITS.headerSeconds)
    .option('--max-connections <n>', 'open connections at most (keep below ulimit -n); idle ones are closed first', positiveInt, DEFAULT_LIMITS.maxConnections)
    .option('--send-timeout <s>', 'seconds a client has to read its answer', positiveNumber, DEFAULT_LIMITS.sendSeconds)
    .option('--max-answer-mb <n>', 'MiB of answers held for clients still reading them; more → 503', positiveNumber, DEFAULT_LIMITS.maxAnswerBytes / 2 ** 20)
    .option('--threshold <p>', 'P(fake) threshold (0.5 = official argmax)', probability, 0.5)
    .addOption(
      new Option('--log-level <level>', 'request log on stdout (JSON lines)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .option('--quiet', 'no request log (= --log-level silent)')
    .action(async (opts: ServeCliOptions) => {
      const bytes = opts.model.endsWith('.onnx')
        ? await readFile(opts.model).catch((err: unknown) => {
            throw new InputFileError(opts.model, 'cannot read the model file', 'check the path; export one with `msccnet export`', { cause: err });
          })
        : await exportedModelBytes(opts.model, { method: opts.method });
      const engine = await createOrtEngine(bytes, opts.model, { threads: opts.threads });
      const app = await buildServer({
        engine,
        modelBytes: bytes,
        faceDetector: () => loadFaceDetector(),
        threshold: opts.threshold,
        trustProxy: opts.trustProxy,
        logger: { level: opts.quiet ? 'silent' : opts.logLevel },
        limits: {
          maxBytes: Math.round(opts.maxMb * 2 ** 20),
          maxPixels: Math.round(opts.maxMegapixels * 1e6),
          concurrency: opts.concurrency,
          maxWaiting: opts.queue,
          timeoutSeconds: opts.timeout,
          uploadSeconds: opts.uploadTimeout,
          maxPerClient: opts.maxPerClient,
          headerSeconds: opts.headerTimeout,
          maxConnections: opts.maxConnections,
          sendSeconds: opts.sendTimeout,
          maxAnswerBytes: Math.round(opts.maxAnswerMb * 2 ** 20),
        },
      });
      const address = await app.listen({ port: opts.port, host: opts.host }).catch(async (err: unknown) => {
        await app.close();
        await engine.release();
        throw ioErrorOf(err, `${opts.host}:${opts.port}`) ?? err;
      });
      console.log(`msccnet: serving ${opts.model} (${engine.inputSide}² input) at ${address}`);
      const stop = () => {
        void app.close().then(() => engine.release());
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
