import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module `name` beside `base` (the caller's import.meta.url): `name.js` from the
 * compiled dist/ (the bin), or `name.ts` when running from source under tsx (tests, `npm run msccnet`). Node 20
 * does not apply `--import tsx` to worker threads, so a source worker starts with a one-line bootstrap that
 * registers tsx, then imports the file.
 */
export function spawnModuleWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSource = base.endsWith('.ts');
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, base);
  if (!fromSource) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`, {
    ...options,
    eval: true,
  });
}
