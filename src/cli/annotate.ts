import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import type { Pair } from '../annotate/index.js';
import { annotatePairs, DEFAULT_REPORT_NAME, listFaceForensicsPairs, readPairList } from '../annotate/index.js';
import { ArgumentError, MsccnetError } from '../errors.js';
import { positiveInt, positiveNumber } from './args.js';
import { formatSeconds, progressBar } from './progress.js';

/** Nothing could be annotated (every pair skipped, or no pairs): the only batch outcome that exits non-zero. */
export class NothingAnnotatedError extends MsccnetError {
  constructor(pairs: number, report: string) {
    super(
      'MSCCNET_NOTHING_ANNOTATED',
      pairs === 0 ? 'no pairs found' : `none of the ${pairs} pairs could be annotated`,
      pairs === 0
        ? 'check --real/--fake (fakes at <method>/<tgt>_<src>/<frame>.png, reals at youtube/<tgt>/<frame>.png) or --pairs'
        : `see the reasons in ${report}`,
    );
  }
}

interface AnnotateCliOptions {
  real?: string;
  fake?: string;
  pairs?: string;
  out: string;
  diff?: string;
  report?: string;
  workers: number;
  forceWorkers: boolean;
  maxMegapixels: number;
  overwrite: boolean;
  dataRange: number;
  diffThreshold: number;
}

export function makeAnnotateCommand(): Command {
  return new Command('annotate')
    .description('pixel masks from real/fake face pairs (paper §4.1, Fig. 3; the official SSIM procedure)')
    .option('--real <dir>', 'FF++ real frames: the folder holding youtube/<tgt>/<frame>.png (or youtube/ itself)')
    .option('--fake <dir>', 'FF++ fake frames: the folder holding <method>/<tgt>_<src>/<frame>.png')
    .option('--pairs <file>', 'a pair list instead: lines `<real> <fake> <output name>`, paths relative to the file')
    .requiredOption('-o, --out <dir>', 'folder for the 0/255 masks (<method>/<tgt>_<src>/<frame>.png, or the output names)')
    .option('--diff <dir>', 'also write the diff maps (uint8 of fake grey × factor) to this folder')
    .option('--report <file>', `JSON report of every pair (default <out>/${DEFAULT_REPORT_NAME})`)
    .addOption(
      new Option('-w, --workers <n>', 'worker threads (at most the cores, unless --force-workers)')
        .argParser(positiveInt)
        .default(availableParallelism(), 'cores'),
    )
    .option('--force-workers', 'allow more workers than cores (each adds memory, none adds speed)', false)
    .addOption(new Option('--max-megapixels <n>', 'skip (as too-large) images with more pixels, without decoding them').argParser(positiveNumber).default(40))
    .option('--overwrite', 'recompute pairs whose outputs exist (default: skip them, so a rerun resumes)', false)
    .addOption(new Option('--data-range <L>', 'SSIM data range (2 = what the official code used implicitly)').argParser(positiveNumber).default(2))
    .addOption(new Option('--diff-threshold <t>', 'threshold on the blurred normalised diff').argParser(positiveNumber).default(0.08))
    .action(async (opts: AnnotateCliOptions) => {
      let pairs: Pair[];
      if (opts.pairs !== undefined) {
        if (opts.real !== undefined || opts.fake !== undefined) throw new ArgumentError('--pairs', '--pairs alone, or --real with --fake', 'both');
        pairs = await readPairList(opts.pairs);
      } else {
        if (opts.real === undefined || opts.fake === undefined) {
          throw new ArgumentError('--real/--fake', 'both folders (or --pairs FILE)', opts.real ?? opts.fake ?? 'neither');
        }
        pairs = await listFaceForensicsPairs(opts.real, opts.fake);
      }
      const report = opts.report ?? `${opts.out}/${DEFAULT_REPORT_NAME}`;
      if (pairs.length === 0) throw new NothingAnnotatedError(0, report);
      if (opts.workers > availableParallelism() && !opts.forceWorkers) {
        process.stderr.write(
          `msccnet: warning: -w ${opts.workers} is more than the ${availableParallelism()} cores; using ${availableParallelism()} (--force-workers to insist)\n`,
        );
      }
      const bar = progressBar('annotate', pairs.length);
      let skipped = 0;
      const sigint = new AbortController();
      const onSigint = (): void => sigint.abort(new MsccnetError('MSCCNET_INTERRUPTED', 'interrupted', 'rerun the same command to resume'));
      process.once('SIGINT', onSigint);
      try {
        const result = await annotatePairs(pairs, {
          out: opts.out,
          diffDir: opts.diff,
          reportFile: report,
          workers: opts.workers,
          forceWorkers: opts.forceWorkers,
          maxPixels: opts.maxMegapixels * 1e6,
          overwrite: opts.overwrite,
          annotation: { dataRange: opts.dataRange, diffThreshold: opts.diffThreshold },
          signal: sigint.signal,
          onProgress: (e) => {
            if (e.kind === 'pair') {
              if (e.record.status === 'skipped') skipped++;
              bar.update(e.done, skipped > 0 ? `(${skipped} skipped)` : undefined);
            } else if (e.kind === 'finished') {
              bar.stop();
              const reasons = Object.entries(e.summary.skippedBy)
                .map(([r, n]) => `${n} ${r}`)
                .join(', ');
              console.log(
                `${e.summary.annotated} annotated (${e.reused} already there), ${e.summary.skipped} skipped` +
                  `${reasons ? ` (${reasons})` : ''} in ${formatSeconds(e.seconds)}; report: ${report}`,
              );
            }
          },
        });
        if (result.summary.annotated === 0) throw new NothingAnnotatedError(pairs.length, report);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
