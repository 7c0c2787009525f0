import { Command, InvalidArgumentError } from 'commander';
import { applyOverrides, describeConfig, parseTrainConfig, readConfigFile } from '../train/config.js';
import { DistributedError } from '../train/errors.js';
import { train } from '../train/trainer.js';
import { progressBar } from './progress.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

interface TrainCliOptions {
  config?: string;
  set: string[];
  resume?: boolean;
  helpConfig?: boolean;
  nproc?: number;
  rank?: number;
  worldSize?: number;
  masterAddr?: string;
  masterPort?: number;
}

export function makeTrainCommand(): Command {
  return new Command('train')
    .description('train MSCCNet with the official recipe (or a variant): run folder with config, log.jsonl, checkpoints')
    .option('-c, --config <file>', 'JSON or YAML training config (see --help-config)')
    .option('--set <key=value>', 'override one field, e.g. --set optim.lr=0.01 (repeatable)', collect, [])
    .option('--resume', 'continue bit-for-bit from the newest checkpoint of run.dir')
    .option('--help-config', 'list every config field with its default and description')
    .option('--nproc <n>', 'data-parallel processes on this machine (c10d)', positiveInt)
    .option('--rank <r>', 'this process\'s rank (multi-machine)', positiveInt)
    .option('--world-size <n>', 'total processes (multi-machine)', positiveInt)
    .option('--master-addr <host>', 'address of rank 0 (multi-machine)')
    .option('--master-port <port>', 'rendezvous port', positiveInt)
    .action(async (opts: TrainCliOptions) => {
      if (opts.helpConfig) {
        for (const r of describeConfig()) console.log(`${r.path} = ${JSON.stringify(r.default)}\n    ${r.description}`);
        return;
      }
      const raw = opts.config === undefined ? {} : await readConfigFile(opts.config);
      const config = parseTrainConfig(applyOverrides(raw, opts.set));
      if ((opts.nproc ?? 1) > 1 || (opts.worldSize ?? 1) > 1) {
        throw new DistributedError('data-parallel training needs the c10d process-group bindings, which this build of the addon does not have yet',
          'train with one process (omit --nproc / --world-size)');
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      let bar: ReturnType<typeof progressBar> | null = null;
      let skipped = 0;
      const summary = await train(config, {
        resume: opts.resume ?? false,
        signal: controller.signal,
        onEvent: (e) => {
          switch (e.kind) {
            case 'start':
              console.error(`run ${e.runDir}: ${e.samples} samples, ${e.stepsPerEpoch} steps/epoch, steps ${e.startStep}→${e.totalSteps}`);
              bar = progressBar('train', e.totalSteps);
              bar.update(e.startStep);
              break;
            case 'step':
              bar?.update(e.step, `loss ${e.losses.total?.toFixed(4)} lr ${e.lr.toExponential(3)} ${e.imagesPerSecond.toFixed(2)} img/s`);
              break;
            case 'skip':
              skipped = e.skippedTotal;
              break;
            case 'validation':
              console.error(`\nvalidation after epoch ${e.epoch}: ACC ${pct(e.metrics.ACC)} AUC ${pct(e.metrics.AUC)} F1 ${pct(e.metrics.F1)} mIoU ${pct(e.metrics.mIoU)} (${e.images} images)`);
              break;
            case 'checkpoint':
            case 'done':
              break;
          }
        },
      });
      (bar as ReturnType<typeof progressBar> | null)?.stop();
      console.log(`${summary.step} steps; last checkpoint ${summary.lastCheckpoint ?? '(none)'}; best mIoU ${summary.bestMIoU === null ? '—' : pct(summary.bestMIoU)}; ${skipped || summary.skipped} samples skipped (see log.jsonl)`);
    });
}

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
