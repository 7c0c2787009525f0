import { Command, InvalidArgumentError, Option } from 'commander';
import { ArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadModel, modelMetadata, openCalibrationSet } from '../infer/index.js';
import { variantNames } from '../models/msccnet/index.js';
import { exportMethod, exportMethodInt8, type CalibrationMethod, type ExportSummary } from '../onnx/index.js';
import { positiveInt } from './args.js';
import { methodOption } from './method-option.js';
import { progressBar } from './progress.js';

type Quantize = 'int8' | 'int8-dynamic';

interface ExportCliOptions {
  weights?: string;
  detfill?: boolean;
  out: string;
  method?: string;
  variant?: string;
  inputSize?: number;
  fp16?: boolean;
  quantize?: Quantize;
  calibration?: string;
  calibrationImages: number;
  calibrationMethod: CalibrationMethod;
  reduceRange?: boolean;
}

/** `msccnet export`: weights → ONNX (traced from the model code): fp32, fp16 storage, static int8 (calibrated) or dynamic int8. */
export function makeExportCommand(): Command {
  return new Command('export')
    .description('export a model to ONNX (opset 18, dynamic batch) by tracing its forward pass')
    .option('--weights <file|dir>', 'model weights: a .safetensors file (its config in the metadata rebuilds the model), a checkpoint or a run folder')
    .option('--detfill', 'use the deterministic detfill-v1 weights instead (tests, demos)')
    .requiredOption('-o, --out <file>', 'ONNX file to write')
    .addOption(new Option('--variant <name>', 'model variant, for --detfill and weights without a config (default msccnet)').choices(variantNames()))
    .addOption(methodOption())
    .option('--input-size <side>', "square input side, for --detfill and weights without a config (default: the method's)", positiveInt)
    .option('--fp16', 'store weights as float16 (half the file; float32 arithmetic)')
    .addOption(
      new Option(
        '--quantize <mode>',
        'int8: static QDQ int8, calibrated on --calibration (fast); int8-dynamic: int8 convs, activations quantised per call (no calibration, slow)',
      ).choices(['int8', 'int8-dynamic']),
    )
    .option('--calibration <dir|manifest>', 'face crops to calibrate int8 activations on: a folder of images or a manifest.jsonl (its train split)')
    .option('--calibration-images <n>', 'crops used for calibration (a seeded random sample of the set)', positiveInt, 32)
    .addOption(
      new Option('--calibration-method <m>', 'activation range: observed min/max, or the 99.999th percentile')
        .choices(['minmax', 'percentile'])
        .default('minmax'),
    )
    .option('--reduce-range', '7-bit int8 weights (avoids u8s8 saturation on AVX2 CPUs without VNNI, at some resolution cost)')
    .action(async (opts: ExportCliOptions) => {
      if ((opts.weights === undefined) === !opts.detfill) throw new InvalidArgumentError('give exactly one of --weights FILE and --detfill');
      if (opts.fp16 && opts.quantize) throw new InvalidArgumentError('--fp16 and --quantize exclude each other');
      if (opts.quantize === 'int8' && opts.calibration === undefined) {
        throw new ArgumentError(
          '--calibration',
          'a folder of face crops or a manifest.jsonl with --quantize int8',
          undefined,
          'pass a few dozen crops like those the model will see (activation ranges are measured on them), or use --quantize int8-dynamic',
        );
      }
      if (opts.quantize !== 'int8' && opts.calibration !== undefined) {
        throw new ArgumentError('--calibration', 'to be used with --quantize int8', opts.calibration, 'add --quantize int8 or drop --calibration');
      }
      const t0 = performance.now();
      const { model, variant, weightsHash } = await loadModel({
        weights: opts.weights ?? 'detfill',
        method: opts.method,
        variant: opts.variant,
        inputSize: opts.inputSize ?? (opts.detfill ? 512 : undefined),
      });
      const metadata = modelMetadata(model, variant, weightsHash);
      let summary: ExportSummary;
      let precision: string;
      if (opts.quantize === 'int8') {
        const set = await openCalibrationSet(opts.calibration!, model.preprocessing, { limit: opts.calibrationImages });
        const bar = progressBar('calibrate', set.files.length);
        try {
          summary = await exportMethodInt8(model, {
            batches: set.batches(),
            calibrationHash: set.hash,
            method: opts.calibrationMethod,
            reduceRange: opts.reduceRange,
            metadata,
            onBatch: (done) => bar.update(done),
          });
        } finally {
          bar.stop();
        }
        precision = `int8 static (${set.files.length} calibration crops, ${opts.calibrationMethod}${opts.reduceRange ? ', reduce-range' : ''})`;
      } else {
        const p = opts.quantize ?? (opts.fp16 ? 'fp16' : 'fp32');
        summary = exportMethod(model, { precision: p, metadata });
        precision = p;
      }
      model.dispose();
      await writeFileAtomic(opts.out, Buffer.from(summary.bytes.buffer, summary.bytes.byteOffset, summary.bytes.byteLength));
      console.log(
        `${opts.out}: ${(summary.bytes.length / 2 ** 20).toFixed(1)} MiB, ${precision}, ${summary.nodes} nodes, ` +
          `${summary.foldedBatchNorms} BN folded${opts.quantize ? `, ${summary.quantizedConvs} convs int8` : ''}, ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    });
}
