import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { DEMO_STAGES, type DemoStage } from '../demo/plan.js';
import { runDemo } from '../demo/run.js';
import { headline, sentences, summaryLine } from '../demo/report/index.js';
import type { DeviceSpec } from '../torch/device.js';
import { METHOD_NAMES, type MethodName } from '../models/method.js';
import { choiceList, methodOverride, seedList, SET_METHOD_HELP } from './args.js';
import { DemoBaselinesError } from '../demo/errors.js';
import { formatSeconds, progressBar, type ProgressBar } from './progress.js';

export function makeDemoCommand(): Command {
  return new Command('demo')
    .description(
      'the whole system on a miniature FF++-like benchmark of synthetic manipulations built from the dependencies: ' +
        'prepare, train + test Base. and MSCCNet (intra, leave-one-out), ONNX export, detect, report.html',
    )
    .option('-o, --out <dir>', 'output folder (its ffpp, pixel-ffpp, runs, model and detect subfolders are replaced)', 'demo-out')
    .option('--device <name>', 'where to train and test: auto (a GPU when the addon has one), cpu, cuda or cuda:N', 'auto')
    .addOption(new Option('--quick', 'a ~2 minute run with tiny sizes (for tests); the numbers mean nothing; trains no baseline unless --methods names some'))
    .option(
      '--methods <names>',
      `the methods to compare (${METHOD_NAMES.join(', ')}); msccnet is Base. and MSCCNet, always trained. ` +
        'Default: the baselines whose measured step cost fits the 20-minute budget (Multi-task, M2TR on EfficientNet-b0 and SLADD on 2 cores)',
      choiceList(METHOD_NAMES),
    )
    .option('--set-method <method:key=value>', SET_METHOD_HELP, methodOverride, {})
    .option(
      '--seeds <n|list>',
      'training seeds of Base. and MSCCNet: a count (3 = seeds 0,1,2) or a list (0,4,7); each baseline trains the first. Default 3 (--quick: 2)',
      seedList,
    )
    .action(
      async (opts: {
        out: string;
        quick?: boolean;
        device: string;
        methods?: MethodName[];
        setMethod: Partial<Record<MethodName, string[]>>;
        seeds?: number[];
      }) => {
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        // one bar per stage, created when the stage starts (not at its first event) so its rate and ETA are its own
        const bars = new Map<DemoStage, ProgressBar>();
        let totals: Readonly<Record<DemoStage, number>> | undefined;
        const bar = (stage: DemoStage): ProgressBar => {
          let b = bars.get(stage);
          if (!b) bars.set(stage, (b = progressBar(stage.padEnd(Math.max(...DEMO_STAGES.map((x) => x.length))), totals?.[stage] ?? 0)));
          return b;
        };
        const t0 = performance.now();
        const result = await runDemo({
          out: opts.out,
          size: opts.quick ? 'quick' : 'full',
          signal: controller.signal,
          device: opts.device as DeviceSpec,
          methods: opts.methods,
          methodOverrides: opts.setMethod,
          seeds: opts.seeds,
          onEvent: (e) => {
            if (e.kind === 'planned') {
              totals = e.totals;
              bar(DEMO_STAGES[0]);
            } else if (e.kind === 'progress') {
              if (e.total !== undefined) bar(e.stage).setTotal(e.total);
              bar(e.stage).update(e.done, e.status);
            } else {
              bar(e.stage).stop();
              const next = DEMO_STAGES[DEMO_STAGES.indexOf(e.stage) + 1];
              if (next !== undefined) bar(next);
            }
          },
        });
        console.log(summaryLine(result, headline(result)));
        for (const s of sentences(result).filter((s) => s.includes(' − Base. '))) console.log(s);
        const report = resolve(opts.out, 'report.html');
        console.log(`report: ${report} (also report.md, report.json); ${formatSeconds((performance.now() - t0) / 1000)} in all`);
        if (result.failed.length > 0) throw new DemoBaselinesError(result.failed, report);
      },
    );
}
