import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../data/atomic.js';
import { loadModel, modelMetadata } from '../infer/engines.js';
import { variantNames } from '../models/msccnet/index.js';
import { exportMsccnet, type Precision } from '../onnx/index.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

interface ExportCliOptions { weights?: string; detfill?: boolean; out: string; variant: string; inputSize: number; fp16?: boolean; int8?: boolean }

/** `msccnet export`: weights → ONNX (traced from the model code), fp32 or fp16 storage or dynamic int8. */
export function makeExportCommand(): Command {
  return new Command('export')
    .description('export a model to ONNX (opset 18, dynamic batch) by tracing its forward pass')
    .option('--weights <file>', 'model weights (.safetensors, official state-dict names)')
    .option('--detfill', 'use the deterministic detfill-v1 weights instead (tests, demos)')
    .requiredOption('-o, --out <file>', 'ONNX file to write')
    .addOption(new Option('--variant <name>', 'model variant').choices(variantNames()).default('msccnet'))
    .option('--input-size <side>', 'square input side the model is built for', positiveInt, 512)
    .option('--fp16', 'store weights as float16 (half the file; float32 arithmetic)')
    .option('--int8', 'dynamic int8 quantisation of the convolutions')
    .action(async (opts: ExportCliOptions) => {
      if ((opts.weights === undefined) === !opts.detfill) throw new InvalidArgumentError('give exactly one of --weights FILE and --detfill');
      if (opts.fp16 && opts.int8) throw new InvalidArgumentError('--fp16 and --int8 exclude each other');
      const precision: Precision = opts.int8 ? 'int8' : opts.fp16 ? 'fp16' : 'fp32';
      const t0 = performance.now();
      const { model, weightsHash } = await loadModel({ weights: opts.weights ?? 'detfill', variant: opts.variant, overrides: { inputSize: opts.inputSize } });
      const summary = exportMsccnet(model, { precision, metadata: modelMetadata(opts.variant, weightsHash) });
      model.dispose();
      await writeFileAtomic(opts.out, Buffer.from(summary.bytes.buffer, summary.bytes.byteOffset, summary.bytes.byteLength));
      console.log(`${opts.out}: ${(summary.bytes.length / 2 ** 20).toFixed(1)} MiB, ${precision}, ${summary.nodes} nodes, `
        + `${summary.foldedBatchNorms} BN folded${precision === 'int8' ? `, ${summary.quantizedConvs} convs int8` : ''}, `
        + `${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
}
