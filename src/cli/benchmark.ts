import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { applyOverrides, parseTrainConfig, readConfigFile } from '../train/config.js';
import { BenchmarkRowsError } from '../benchmark/errors.js';
import { benchmarkModelRuns, compareModels, formatComparisons } from '../benchmark/comparisons.js';
import { ArgumentError } from '../errors.js';
import { failedLines, formatPaperTable, formatTables, PROTOCOLS, runBenchmark, runProtocol, type Protocol } from '../benchmark/protocols.js';
import { METHOD_NAMES, type MethodName } from '../models/method.js';
import { variantNames } from '../models/msccnet/index.js';
import { choiceList, collect, commaList, methodOverride, seedList, SET_METHOD_HELP } from './args.js';

interface BenchmarkCliOptions {
  protocol: Protocol;
  config?: string;
  set: string[];
  out: string;
  device?: string;
  compression?: string;
  testManifest?: string;
  testSplit?: string;
  testCompression?: string;
  variants?: string[];
  methods?: MethodName[];
  setMethod: Partial<Record<MethodName, string[]>>;
  compressions?: string[];
  seeds?: number[];
  compare?: string[];
}

export function makeBenchmarkCommand(): Command {
  return new Command('benchmark')
    .description("the paper's protocols (Tables 2–4): train, test with the official metrics, write results.{md,csv,json}")
    .addOption(
      new Option('--protocol <name>', 'intra (Table 2), cross-dataset (Table 3), leave-one-out (Table 4)').choices([...PROTOCOLS]).makeOptionMandatory(),
    )
    .option('-c, --config <file>', 'training config (JSON/YAML) shared by every run')
    .option('--set <key=value>', 'override a config field (repeatable)', collect, [])
    .option('-o, --out <dir>', 'folder for the runs and tables', 'runs/benchmark')
    .option('--compression <c>', 'intra / leave-one-out: FF++ compression (c23 or c40)')
    .option('--test-manifest <file>', 'cross-dataset: manifest of the test set (e.g. DEFACTO)')
    .option('--test-split <name>', 'split of the test set')
    .option('--test-compression <c>', 'compression field of the test set entries')
    .option(
      '--methods <names>',
      `methods, one table row each, trained and tested under the same protocol (baselines at the crop side of the config): ${METHOD_NAMES.join(', ')}`,
      choiceList(METHOD_NAMES),
    )
    .option('--set-method <method:key=value>', SET_METHOD_HELP, methodOverride, {})
    .option(
      '--variants <names>',
      `MSCCNet's rows: model variants, one row each (Tables 6–8), e.g. base,mfa,mscc,msccnet; known: ${variantNames().join(', ')}`,
      commaList,
    )
    .option('--compressions <list>', 'intra / leave-one-out: compressions side by side, e.g. c40,c23 (Table 2)', commaList)
    .option(
      '--seeds <n|list>',
      "train every run once per seed, in <run>/seed-<s>/: a count (3 = seeds 0,1,2) or a list (0,1,2); cells are mean ± sample std (default: one run of the config's seed)",
      seedList,
    )
    .option(
      '--compare <a,b>',
      'train nothing: print the paired comparison a − b (difference, 95 % interval, sign flips per test set and headline metric) of two finished rows in --out',
      commaList,
    )
    .option('--device <name>', 'shorthand for --set device=<name>: auto, cpu, cuda or cuda:N')
    .action(async (opts: BenchmarkCliOptions) => {
      if (opts.compare !== undefined) {
        if (opts.compare.length !== 2) throw new ArgumentError('--compare', 'two rows a,b (e.g. msccnet,base)', opts.compare.join(','));
        const [a, b] = await Promise.all(opts.compare.map((row) => benchmarkModelRuns(opts.out, row, opts.protocol)));
        const rows = [];
        for (const ta of a!) for (const tb of b!) if (ta.compression === tb.compression) rows.push(...(await compareModels(ta, tb)));
        const { markdown, sentences } = formatComparisons(rows);
        console.log(markdown === '' ? `no test set that both ${opts.compare.join(' and ')} were tested on` : markdown);
        for (const s of sentences) console.log(`- ${s}`);
        return;
      }
      const raw = applyOverrides(opts.config === undefined ? {} : await readConfigFile(opts.config), [
        ...opts.set,
        ...(opts.compression ? [`data.compression=${opts.compression}`] : []),
        ...(opts.device ? [`device=${opts.device}`] : []),
      ]);
      const config = parseTrainConfig(raw);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      if (opts.variants !== undefined || opts.compressions !== undefined || opts.methods !== undefined) {
        const { table, failed, comparisons } = await runBenchmark(opts.protocol, raw, {
          outDir: opts.out,
          testManifest: opts.testManifest,
          testSplit: opts.testSplit,
          testCompression: opts.testCompression,
          seeds: opts.seeds,
          signal: controller.signal,
          methods: opts.methods,
          variants: opts.variants ?? ['msccnet'],
          compressions: opts.compressions ?? [config.data.compression],
          methodOverrides: opts.setMethod,
          onRowFailed: (f) => console.error(failedLines([f])),
          onEvent: ({ run, event }) => {
            if (event.kind === 'tested')
              console.error(`[${run}] ${event.reused ? 'finished earlier' : 'tested'}: mIoU ${(100 * event.metrics.mIoU).toFixed(2)}%`);
          },
        });
        console.log(formatPaperTable(table).markdown);
        console.log(formatComparisons(comparisons).markdown);
        if (failed.length > 0) {
          console.log(failedLines(failed));
          throw new BenchmarkRowsError(failed, resolve(opts.out, opts.protocol));
        }
        return;
      }
      const table = await runProtocol(opts.protocol, config, {
        outDir: opts.out,
        testManifest: opts.testManifest,
        testSplit: opts.testSplit,
        testCompression: opts.testCompression,
        seeds: opts.seeds,
        signal: controller.signal,
        onEvent: ({ run, event }) => {
          if (event.kind === 'start') console.error(`[${run}] training ${event.startStep}→${event.totalSteps} steps`);
          else if (event.kind === 'step' && event.step % 50 === 0)
            console.error(`[${run}] step ${event.step}/${event.totalSteps} loss ${event.losses.total?.toFixed(4)}`);
          else if (event.kind === 'tested') console.error(`[${run}] tested: mIoU ${(100 * event.metrics.mIoU).toFixed(2)}%`);
        },
      });
      console.log(formatTables(table).markdown);
    });
}
