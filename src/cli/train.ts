import { Command, Option } from 'commander';
import { join } from 'node:path';
import { applyOverrides, applyVariant, describeConfig, parseTrainConfig, readConfigFile, type TrainConfig } from '../train/config.js';
import { variantNames } from '../models/msccnet/index.js';
import { initProcessGroup, resolveBackend, type ProcessGroup } from '../train/distributed.js';
import { DistributedError } from '../train/errors.js';
import { configuredDevice, freePort, launchWorkers, localRank, rankDevice, withoutOption } from '../train/launch.js';
import { torch } from '../torch/index.js';
import { train } from '../train/trainer.js';
import { collect, nonNegativeInt, seedList } from './args.js';
import { methodOption } from './method-option.js';
import { progressBar } from './progress.js';

interface TrainCliOptions {
  config?: string;
  set: string[];
  variant?: string;
  method?: string;
  resume?: boolean;
  overwrite?: boolean;
  helpConfig?: boolean;
  device?: string;
  nproc?: number;
  rank?: number;
  worldSize?: number;
  masterAddr?: string;
  masterPort?: number;
  seeds?: number[];
}

export function makeTrainCommand(): Command {
  return new Command('train')
    .description('train MSCCNet with the official recipe (or a variant), or any registered method (--method): run folder with config, log.jsonl, checkpoints')
    .option('-c, --config <file>', 'JSON or YAML training config (see --help-config)')
    .option('--set <key=value>', 'override one field, e.g. --set optim.lr=0.01 (repeatable)', collect, [])
    .option('--device <name>', 'shorthand for --set device=<name>: auto, cpu, cuda or cuda:N')
    .addOption(methodOption("shorthand for --set method=<name> (the config's model section is then that method's)"))
    .option('--resume', 'continue bit-for-bit from the newest complete checkpoint of run.dir')
    .option('--overwrite', 'replace the run that run.dir holds (its config.json, log.jsonl and checkpoints/ are removed)')
    .addOption(
      new Option('--variant <name>', "model variant of the paper's ablations, over the config's model section (as `export --variant`)").choices(variantNames()),
    )
    .option('--help-config', 'list every config field with its default and description')
    .option(
      '--nproc <n>',
      'data-parallel processes on this machine (one GPU each on a CUDA build: NCCL; else Gloo; rendezvous on a free local port unless --master-port)',
      nonNegativeInt,
    )
    .option('--rank <r>', "this process's rank, 0 … world size − 1 (one command per process, e.g. on several machines)", nonNegativeInt)
    .option('--world-size <n>', 'total processes over all machines', nonNegativeInt)
    .option('--master-addr <host>', 'address of rank 0 (default: distributed.masterAddr)')
    .option('--master-port <port>', 'rendezvous port on rank 0 (default: distributed.masterPort)', nonNegativeInt)
    .option(
      '--seeds <n|list>',
      "train once per seed, in turn, in <run.dir>/seed-<s>/ with the config's seed (init of what is not pretrained, data order, augmentation, dropout) set to s: a count (3 = seeds 0,1,2) or a list (0,4,7)",
      seedList,
    )
    .action(async (opts: TrainCliOptions) => {
      if (opts.helpConfig) {
        const raw = opts.config === undefined ? {} : ((await readConfigFile(opts.config)) as { method?: unknown });
        const method = opts.method ?? (typeof raw?.method === 'string' ? raw.method : 'msccnet');
        for (const r of describeConfig(method)) console.log(`${r.path} = ${JSON.stringify(r.default)}\n    ${r.description}`);
        return;
      }
      if (opts.seeds !== undefined && (opts.nproc !== undefined || opts.rank !== undefined || opts.worldSize !== undefined)) {
        throw new DistributedError(
          '--seeds trains its runs in turn in this process; it cannot be combined with --nproc, --rank or --world-size',
          'start one distributed train per seed with --set seed=S --set run.dir=DIR/seed-S',
        );
      }
      const raw = opts.config === undefined ? {} : await readConfigFile(opts.config);
      const config = parseTrainConfig(
        applyOverrides(opts.variant === undefined ? raw : applyVariant(raw, opts.variant), [
          ...opts.set,
          ...(opts.device ? [`device=${opts.device}`] : []),
          ...(opts.method ? [`method=${opts.method}`] : []),
        ]),
      );
      const device = configuredDevice(config);
      const gpus = device === 'cpu' ? 0 : torch.cuda.deviceCount();
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      if (opts.seeds !== undefined) {
        for (const seed of opts.seeds) {
          const seeded = { ...config, seed, run: { ...config.run, dir: join(config.run.dir, `seed-${seed}`) } };
          console.error(`seed ${seed}: ${seeded.run.dir}`);
          await trainRun(seeded, null, opts, controller.signal);
        }
        return;
      }
      if ((opts.nproc ?? 1) > 1) {
        if (opts.rank !== undefined || opts.worldSize !== undefined) {
          throw new DistributedError(
            '--nproc starts every rank itself; it cannot be combined with --rank/--world-size',
            'use --nproc N on one machine, or one command per process with --rank/--world-size',
          );
        }
        const masterAddr = opts.masterAddr ?? '127.0.0.1';
        const masterPort = opts.masterPort ?? (await freePort(masterAddr));
        console.error(
          `starting ${opts.nproc} processes (rendezvous ${masterAddr}:${masterPort}, ${resolveBackend(config.distributed.backend, rankDevice(device, 0, opts.nproc!, gpus))})`,
        );
        await launchWorkers({
          nproc: opts.nproc!,
          script: process.argv[1],
          execArgv: process.execArgv,
          signal: controller.signal,
          masterAddr,
          masterPort,
          device,
          gpus,
          args: [
            'train',
            ...withoutOption(withoutOption(withoutOption(process.argv.slice(process.argv.indexOf('train') + 1), '--nproc'), '--master-addr'), '--master-port'),
          ],
        });
        return;
      }
      let group: ProcessGroup | null = null;
      if (opts.rank !== undefined || opts.worldSize !== undefined) {
        if (opts.rank === undefined || opts.worldSize === undefined) {
          throw new DistributedError('--rank and --world-size go together', 'give both (and --master-addr for several machines), or neither');
        }
        // started by --nproc: stop when the launcher goes away, rather than train on as an orphan
        if (process.connected) {
          process.once('disconnect', () => process.exit(1));
          process.channel?.unref(); // the listener must not keep a finished rank alive
        }
        group = await initProcessGroup({
          rank: opts.rank,
          worldSize: opts.worldSize,
          masterAddr: opts.masterAddr ?? config.distributed.masterAddr,
          masterPort: opts.masterPort ?? config.distributed.masterPort,
          timeoutSeconds: config.distributed.timeoutSeconds,
          networkInterface: config.distributed.networkInterface,
          backend: config.distributed.backend,
          device: rankDevice(device, localRank(), 1, gpus),
        });
      }
      await trainRun(config, group, opts, controller.signal);
    });
}

/** One training run with its progress bar and closing summary line (rank 0 alone prints the summary). */
async function trainRun(config: TrainConfig, group: ProcessGroup | null, opts: TrainCliOptions, signal: AbortSignal): Promise<void> {
  let bar: ReturnType<typeof progressBar> | null = null;
  let skipped = 0;
  const summary = await train(config, {
    group,
    resume: opts.resume ?? false,
    overwrite: opts.overwrite ?? false,
    signal,
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
        case 'warning':
          process.stderr.write(`\nmsccnet: warning: step ${e.step}: ${e.message}\n`);
          break;
        case 'validation':
          console.error(
            `\nvalidation after epoch ${e.epoch}: ACC ${pct(e.metrics.ACC)} AUC ${pct(e.metrics.AUC)} F1 ${pct(e.metrics.F1)} mIoU ${pct(e.metrics.mIoU)} (${e.images} images)`,
          );
          break;
        case 'checkpoint':
        case 'done':
          break;
      }
    },
  });
  (bar as ReturnType<typeof progressBar> | null)?.stop();
  await group?.close();
  if ((group?.rank ?? 0) !== 0) return;
  for (const note of summary.notes) console.error(`run: ${note}`);
  console.log(
    `${summary.step} steps; last checkpoint ${summary.lastCheckpoint ?? '(none)'}; best mIoU ${summary.bestMIoU === null ? '—' : pct(summary.bestMIoU)}; ${skipped || summary.skipped} samples skipped (see log.jsonl)`,
  );
}

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
