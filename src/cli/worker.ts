import { Command, Option } from 'commander';
import { DEFAULT_QUEUE, startPrepareWorker, watchConnection } from '../data/prepare/queue.js';
import { positiveInt } from './args.js';

export function makeWorkerCommand(): Command {
  return new Command('worker')
    .description('process `msccnet prepare --redis` jobs from the queue (run on any number of machines sharing the file system)')
    .addOption(new Option('--redis <url>', 'Redis URL, e.g. redis://host:6379').env('MSCCNET_REDIS').makeOptionMandatory())
    .option('--queue <name>', 'BullMQ queue name', DEFAULT_QUEUE)
    .addOption(new Option('--concurrency <n>', 'jobs in flight in this process').argParser(positiveInt).default(1))
    .addOption(new Option('--lock-seconds <s>', "job lock; a dead worker's job is retried after it expires").argParser(positiveInt).default(30))
    .addOption(new Option('--redis-timeout <s>', 'exit (status 1) once Redis has stayed unreachable this long').argParser(positiveInt).default(60))
    .action(async (o: { redis: string; queue: string; concurrency: number; lockSeconds: number; redisTimeout: number }) => {
      const worker = await startPrepareWorker({
        url: o.redis,
        queue: o.queue,
        retrySeconds: o.redisTimeout,
        concurrency: o.concurrency,
        lockMs: o.lockSeconds * 1000,
        onEvent: (e) => {
          if (e.kind === 'started') process.stderr.write(`worker: ${e.job} started (attempt ${e.attempt})\n`);
          else if (e.kind === 'job') process.stderr.write(`worker: ${e.job} ${e.outcome} (${e.skipped} skipped items)\n`);
          else if (e.kind === 'failed') process.stderr.write(`worker: ${e.job} failed: ${e.error}\n`);
        },
      });
      process.stderr.write(`worker: ready on ${o.queue}\n`);
      const watch = watchConnection(o.redis, o.redisTimeout);
      try {
        await Promise.race([
          watch.lost,
          new Promise<void>((res) => {
            const stop = (): void => {
              process.stderr.write('worker: closing after the jobs in flight\n');
              res();
            };
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          }),
        ]);
      } catch (err) {
        // the worker's own client may still be retrying or hold a blocked command: do not wait for it
        void worker.disconnect().catch(() => undefined);
        setTimeout(() => process.exit(1), 1000).unref();
        throw err;
      }
      watch.stop();
      await worker.close();
    });
}
