import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { COMPRESSIONS, METHODS, type Compression, type Method } from '../data/layout.js';
import type { PrepareEvent, PrepareStage } from '../data/prepare/prepare.js';
import { DEFAULT_QUEUE } from '../data/prepare/queue.js';
import { ensureWritableDir } from '../io/atomic.js';
import { runPrepare } from '../data/prepare/pool.js';
import { choiceList, intAtLeast, positiveInt } from './args.js';
import type { ProgressBar } from './progress.js';
import { stageBars } from './stage-bars.js';

interface PrepareCliOptions {
  ffpp: string;
  out: string;
  splits?: string;
  noSplits?: boolean;
  dropReferenceMissing?: boolean;
  frames: number;
  boxScale: number;
  cropSide?: number;
  compressions: Compression[];
  methods: Method[];
  concurrency: number;
  redis?: string;
  queue: string;
  retryFailed?: boolean;
  maxMegapixels: number;
}

export function makePrepareCommand(): Command {
  return new Command('prepare')
    .description('FF++ videos → face crops, masks and a manifest (one job per original video with its fakes; reruns resume)')
    .requiredOption('--ffpp <dir>', 'FF++ download folder (original_sequences/, manipulated_sequences/)')
    .requiredOption('-o, --out <dir>', 'output folder')
    .option('--splits <dir>', 'folder with the official train.json, val.json, test.json (default <ffpp>/splits if present)')
    .option('--drop-reference-missing', 'drop the three pairs the reference lists lack (604_703, 115_939, 227_169)')
    .addOption(new Option('--frames <n>', 'frames per video, at floor(linspace(0, L−1, n))').argParser(positiveInt).default(20))
    .addOption(new Option('--box-scale <x>', 'crop side = x × the detector box').argParser(Number).default(1.3))
    .addOption(new Option('--crop-side <px>', 'resize crops to this side (default: native size, as the reference)').argParser(intAtLeast(16)))
    .addOption(new Option('--compressions <list>', 'renditions to crop').argParser(choiceList(COMPRESSIONS)).default([...COMPRESSIONS], COMPRESSIONS.join(',')))
    .addOption(new Option('--methods <list>', 'methods to include').argParser(choiceList(METHODS)).default([...METHODS], METHODS.join(',')))
    .addOption(new Option('--concurrency <n>', 'local jobs in flight').argParser(positiveInt).default(2))
    .addOption(new Option('--redis <url>', 'distribute jobs through BullMQ on this Redis; run `msccnet worker` to process them').env('MSCCNET_REDIS'))
    .option('--queue <name>', 'BullMQ queue name', DEFAULT_QUEUE)
    .addOption(new Option('--max-megapixels <n>', 'skip renditions with larger frames, before decoding any').argParser(Number).default(40))
    .option('--retry-failed', 'also rerun videos that finished with unreadable renditions or frames (changed videos are always rerun)')
    .action(async (o: PrepareCliOptions) => {
      await ensureWritableDir(resolve(o.out));
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      let bars: Record<'jobs' | PrepareStage, ProgressBar> | undefined;
      const done: Record<'jobs' | PrepareStage, number> = { jobs: 0, probe: 0, detect: 0, crop: 0, mask: 0 };
      const onProgress = (e: PrepareEvent): void => {
        if (e.kind === 'planned') {
          const labels = ['videos', 'probe', 'detect', 'crop', 'mask'] as const;
          const made = stageBars(labels, [e.jobs - e.finished, e.estimate.probe, e.estimate.detect, e.estimate.crop, e.estimate.mask]);
          bars = { jobs: made[0]!, probe: made[1]!, detect: made[2]!, crop: made[3]!, mask: made[4]! };
          if (e.finished > 0) process.stderr.write(`prepare: ${e.finished} of ${e.jobs} videos already finished, reusing them\n`);
        } else if (e.kind === 'stage') {
          done[e.stage] += e.items;
          bars?.[e.stage].update(done[e.stage]);
        } else if (e.outcome !== 'reused') {
          done.jobs++;
          bars?.jobs.update(done.jobs, e.outcome === 'failed' ? `${e.job} failed` : e.job);
        }
      };
      const report = await runPrepare({
        ffpp: resolve(o.ffpp),
        out: resolve(o.out),
        splits: o.splits ? resolve(o.splits) : undefined,
        dropReferenceMissing: o.dropReferenceMissing ?? false,
        frames: o.frames,
        boxScale: o.boxScale,
        cropSide: o.cropSide ?? null,
        compressions: o.compressions,
        methods: o.methods,
        concurrency: o.concurrency,
        redis: o.redis,
        queue: o.queue,
        retryFailed: o.retryFailed,
        maxPixels: o.maxMegapixels * 1e6,
        onProgress,
        signal: controller.signal,
      });
      if (bars) for (const b of Object.values(bars)) b.stop();
      console.log(`${report.crops} crops (${report.fakeCrops} fake, ${report.masks} masks) from ${report.jobs} videos → ${resolve(o.out, 'manifest.jsonl')}`);
      for (const d of report.droppedSplitNames) console.log(`dropped from the splits: ${d}`);
      for (const s of report.skipped) {
        console.log(`skipped ${s.video}${s.compression ? ` ${s.compression}` : ''}${s.frame !== undefined ? ` frame ${s.frame}` : ''}: ${s.reason}`);
      }
      if (report.failedJobs.length) {
        process.exitCode = 1;
        console.log(`${report.failedJobs.length} videos failed; rerun to retry them (finished videos are kept)`);
      }
    });
}
