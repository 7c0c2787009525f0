import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import type { ThreadReply, ThreadRequest } from '../jobs/pool.js';
import type { PairOutcome, PairTask } from './files.js';
import { annotatePairToFiles } from './files.js';
import { loadOpenCv } from '../image/index.js';

/*
 * Worker thread of `annotatePairs` (a jobs/pool.ts ThreadPool). Pairs are started as they arrive (the pool sends at
 * most two at once): the computation is synchronous, so one pair computes while the other waits on file reads or writes.
 */

sharp.concurrency(1); // one libvips thread per worker: the pool already fills the cores
sharp.cache(false); // every file is read once
const port = parentPort;
if (port === null) throw new Error('annotate worker must run in a worker thread');
await loadOpenCv();
port.on('message', (request: ThreadRequest<PairTask>) => {
  void annotatePairToFiles(request.task).then((outcome) => port.postMessage({ id: request.id, outcome } satisfies ThreadReply<PairOutcome>));
});
port.postMessage('ready' satisfies ThreadReply<PairOutcome>);
