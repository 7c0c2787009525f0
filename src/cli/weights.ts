import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import {
  CONVERTER_NAMES,
  encodeModelFile,
  encodeSourceTensors,
  buildMethod,
  fromOfficialConfig,
  inspectWeights,
  loadConverted,
  methodBackbone,
  methodDefinition,
  readMethodWeights,
  reportSummary,
  type ConverterName,
} from '../models/index.js';
import { PthTensor } from '../nn/pth/index.js';
import type { Tensor } from '../torch/index.js';

/** A JSON object given inline or as a file path. */
function jsonArgument(flag: string, value: string): unknown {
  const text = existsSync(value) ? readFileSync(value, 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new ArgumentError(flag, 'a JSON object or the path of a JSON file', value);
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

interface ConvertCliOptions {
  out: string;
  from?: ConverterName;
  method?: string;
  config?: string;
  officialConfig?: string;
  layersOnly?: boolean;
}

/** `msccnet weights`: inspect and convert PyTorch checkpoints and our weights files. */
export function makeWeightsCommand(): Command {
  const weights = new Command('weights').description('inspect and convert weights: PyTorch .pth/.pt checkpoints and .safetensors files');
  weights
    .command('inspect')
    .description('format, tensors, dtypes, size, the model config a file carries, and which converter applies')
    .argument('<file>', '.pth / .pt / .safetensors')
    .option('--json', 'print one JSON object')
    .action(async (file: string, opts: { json?: boolean }) => {
      const info = await inspectWeights(file);
      if (opts.json) {
        console.log(JSON.stringify(info));
        return;
      }
      console.log(`${info.path}: ${info.format}, ${info.tensors} tensors, ${mib(info.bytes)}`);
      console.log(
        `  dtypes: ${
          Object.entries(info.dtypes)
            .map(([d, n]) => `${d} ×${n}`)
            .join(', ') || 'none'
        }`,
      );
      console.log(`  converter: ${info.converter ?? 'none (no state dict found)'}`);
      for (const [k, v] of Object.entries(info.values)) console.log(`  ${k}: ${v}`);
      if (info.model)
        console.log(`  model: ${info.model.method} ${info.model.variant}, input ${info.model.inputSize}², config ${JSON.stringify(info.model.config)}`);
      else console.log('  model: no config in the file (load it with --variant/--input-size, or convert it with --config)');
    });
  weights
    .command('convert')
    .description('a .pth checkpoint → .safetensors; with --config/--official-config, a whole model file that carries its config (for export, detect, serve)')
    .argument('<in...>', '.pth / .pt (or .safetensors); hifinet: its two official checkpoints (weights/HRNet/… and weights/NLCDetection/…), joined')
    .requiredOption('-o, --out <file>', '.safetensors to write')
    .addOption(new Option('--from <layout>', 'checkpoint layout (default: detected from its keys)').choices([...CONVERTER_NAMES]))
    .option('--method <name>', 'the method to build and load into (default msccnet when --config is given)')
    .option('--config <json|file>', "the method's model config (e.g. models/msccnet/config.ts fields) to build and load into")
    .option('--official-config <json|file>', 'the backbone/classifier/head fields of an official SSSegmentation config')
    .option('--layers-only', 'torchvision into a deep-stem model: load layer1–4 and skip the 7×7 stem')
    .action(async (inputs: string[], opts: ConvertCliOptions) => {
      const input = inputs.join(' + ');
      if (opts.config !== undefined && opts.officialConfig !== undefined)
        throw new ArgumentError('--config', 'not together with --official-config', opts.config);
      if (opts.officialConfig !== undefined && (opts.method ?? 'msccnet') !== 'msccnet')
        throw new ArgumentError('--official-config', 'only with --method msccnet (an SSSegmentation config)', opts.method);
      const method = methodDefinition(opts.method ?? 'msccnet'); // an unknown name fails before the file is read
      const source = await readMethodWeights(method.name, inputs, opts.from);
      try {
        const config: unknown =
          opts.config !== undefined
            ? jsonArgument('--config', opts.config)
            : opts.officialConfig !== undefined
              ? fromOfficialConfig(jsonArgument('--official-config', opts.officialConfig))
              : opts.method !== undefined
                ? {}
                : null;
        if (config === null) {
          const tensors = new Map<string, Tensor>([...source.tensors].map(([k, t]) => [k, t instanceof PthTensor ? t.toTensor() : t]));
          await writeFileAtomic(opts.out, Buffer.from(encodeSourceTensors(tensors, { converter: source.converter, source: input })));
          console.log(
            `${opts.out}: ${tensors.size} tensors under their ${source.converter} names (no model config: use it as model.pretrained, or convert with --config)`,
          );
          return;
        }
        const model = buildMethod(method.name, config);
        const report = loadConverted(model, source, input, { layersOnly: opts.layersOnly, backbone: methodBackbone(method.name) });
        await writeFileAtomic(opts.out, Buffer.from(encodeModelFile(model, { converter: source.converter, source: input })));
        model.dispose();
        console.log(reportSummary(report));
        for (const s of report.skipped) console.log(`  skipped ${s.key}: ${s.reason}`);
        if (report.missing.length > 0)
          console.log(`  missing (initialised, not loaded): ${report.missing.length} entries, e.g. ${report.missing.slice(0, 3).join(', ')}`);
        console.log(`${opts.out}: a whole-model file that carries its config`);
      } finally {
        source.release();
      }
    });
  return weights;
}
