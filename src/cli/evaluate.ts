import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parsePerturbations } from '../samples/perturb.js';
import { formatConditions, runEvaluation } from '../benchmark/evaluation-folder.js';
import { openEngine, type EngineKind } from '../infer/index.js';
import { methodOption } from './method-option.js';
import { variantNames } from '../models/msccnet/index.js';
import type { Precision } from '../onnx/index.js';
import type { DeviceSpec } from '../torch/device.js';
import { readManifestSamples } from '../samples/dataset.js';
import { DatasetError } from '../samples/errors.js';
import { progressBar, type ProgressBar } from './progress.js';
import { deviceSpec, nonNegativeInt, positiveInt } from './args.js';

interface EvaluateCliOptions {
  model: string;
  manifest: string;
  split: string;
  compression?: string;
  engine: EngineKind;
  method?: string;
  variant?: string;
  inputSize?: number;
  device: DeviceSpec;
  precision: Precision;
  perturb: string[];
  out?: string;
  batchSize: number;
  workers: number;
  threads?: number;
  seed: number;
  pixelAuc: boolean;
}

/** `msccnet evaluate`: the official metrics (and labelled extras) of a model on a manifest's split, resumable, with robustness sweeps. */
export function makeEvaluateCommand(): Command {
  return new Command('evaluate')
    .description('official metrics (+ labelled extras) of a model on a test set; resumable; --perturb for robustness sweeps')
    .requiredOption('-m, --model <file>', 'model.onnx (from `msccnet export`) or weights .safetensors')
    .requiredOption('--manifest <file>', 'manifest.jsonl (from `msccnet prepare` or `msccnet dataset defacto`)')
    .option('--split <name>', 'split to evaluate', 'test')
    .option('--compression <c>', 'keep only entries of this compression (default: every entry of the split)')
    .addOption(new Option('--engine <name>', 'inference engine').choices(['onnx', 'torch']).default('onnx'))
    .addOption(methodOption())
    .addOption(new Option('--variant <name>', 'variant, for weights without a config in their metadata (default msccnet)').choices(variantNames()))
    .option('--input-size <side>', "input side, for weights without a config in their metadata (default: the method's)", positiveInt)
    .option('--device <name>', 'with --engine torch: auto, cpu, cuda or cuda:N', deviceSpec, 'cpu')
    .addOption(
      new Option('--precision <p>', 'onnx engine on .safetensors: precision of the in-memory export').choices(['fp32', 'fp16', 'int8-dynamic']).default('fp32'),
    )
    .option('--perturb <spec...>', 'robustness sweep, e.g. jpeg:90,70,50 blur:3,5,7 noise:5,10,20 resize:0.75,0.5', [])
    .option('-o, --out <dir>', 'evaluation folder (default runs/evaluate/<model name>-<split>)')
    .option('--batch-size <n>', 'images per engine call', positiveInt, 8)
    .option('--workers <n>', 'decoding threads (0: inline)', nonNegativeInt, 1)
    .option('--threads <n>', 'intra-op threads of the engine', positiveInt)
    .option('--seed <n>', 'seed of the noise perturbation', nonNegativeInt, 0)
    .option('--no-pixel-auc', 'skip the pixel-AUC extra (its histogram is the largest state)')
    .action(async (opts: EvaluateCliOptions) => {
      const perturbations = parsePerturbations(opts.perturb);
      const { samples, skipped } = await readManifestSamples(opts.manifest, { split: opts.split, compression: opts.compression ?? null, methods: null });
      for (const s of skipped) process.stderr.write(`msccnet: warning: ${s.where}: ${s.reason}\n`);
      if (samples.length === 0) {
        throw new DatasetError(
          `${opts.manifest} has no entry in split '${opts.split}'${opts.compression ? ` with compression '${opts.compression}'` : ''}`,
          'check --split and --compression against the manifest',
        );
      }
      const out = opts.out ?? resolve('runs', 'evaluate', `${basename(opts.model).replace(/\.[^.]+$/, '')}-${opts.split}`);
      const engine = await openEngine(opts.model, {
        engine: opts.engine,
        threads: opts.threads,
        method: opts.method,
        variant: opts.variant,
        inputSize: opts.inputSize,
        precision: opts.precision,
        device: opts.device,
      });
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const bars: { current: ProgressBar | null } = { current: null };
      const identity = {
        model: resolve(opts.model),
        engine: engine.name,
        manifest: resolve(opts.manifest),
        split: opts.split,
        batchSize: opts.batchSize,
        seed: opts.seed,
        pixelAuc: opts.pixelAuc,
      };
      try {
        const conditions = await runEvaluation(engine, samples, {
          outDir: out,
          identity,
          perturbations,
          workers: opts.workers,
          signal: controller.signal,
          onEvent: (e) => {
            if (e.kind === 'condition') {
              bars.current?.stop();
              bars.current = progressBar(`evaluate ${e.name} (${e.index + 1}/${e.count})`, e.total);
              bars.current.update(e.resumedFrom, e.resumedFrom > 0 ? `resumed at ${e.resumedFrom}` : undefined);
            } else if (e.kind === 'progress') bars.current?.update(e.done);
            else process.stderr.write(`\nmsccnet: warning: ${e.id} skipped: ${e.reason}\n`);
          },
        });
        bars.current?.stop();
        bars.current = null;
        console.log(formatConditions(conditions, identity).markdown);
        console.log(`metrics.{json,md,csv}${conditions.length > 1 ? ', robustness-*.svg' : ''} and per-image records in ${out}`);
      } finally {
        bars.current?.stop();
        await engine.release();
      }
    });
}
