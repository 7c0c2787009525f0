import { Command, Option } from 'commander';
import { collectInputs, detectFiles, openEngine, type EngineKind } from '../infer/index.js';
import { methodOption } from './method-option.js';
import { ensureWritableDir } from '../io/atomic.js';
import { variantNames } from '../models/msccnet/index.js';
import type { DeviceSpec } from '../torch/device.js';
import { deviceSpec, positiveInt, positiveNumber, probability } from './args.js';
import { progressBar } from './progress.js';

interface DetectCliOptions {
  model: string;
  engine: EngineKind;
  threads?: number;
  face: boolean;
  format: 'text' | 'json';
  out: string;
  threshold: number;
  frames: number;
  maxSide: number;
  maxMegapixels: number;
  method?: string;
  variant?: string;
  inputSize?: number;
  device: DeviceSpec;
}

/** `msccnet detect`: scores, masks and overlays for images, folders and videos. */
export function makeDetectCommand(): Command {
  return new Command('detect')
    .description('detect and localise face manipulation in images, folders (recursive) and videos')
    .argument('<inputs...>', 'image files, folders or video files')
    .requiredOption(
      '-m, --model <file|dir>',
      "model.onnx (from `msccnet export`), weights .safetensors, a run/checkpoint folder of `msccnet train`, or with --method a baseline's official .pth",
    )
    .addOption(new Option('--engine <name>', 'inference engine').choices(['onnx', 'torch']).default('onnx'))
    .option('--threads <n>', 'intra-op threads', positiveInt)
    .option('--device <name>', 'with --engine torch: auto, cpu, cuda or cuda:N', deviceSpec, 'cpu')
    .option('--no-face', 'classify the whole image instead of detected faces')
    .addOption(new Option('--format <kind>', 'stdout: a summary line per input, or one JSON result per line').choices(['text', 'json']).default('text'))
    .option('-o, --out <dir>', 'folder for <name>.json, <name>.mask.png, <name>.overlay.png', 'detections')
    .option('--threshold <p>', 'P(fake) threshold for labels and masks (0.5 = official argmax)', probability, 0.5)
    .option('--frames <n>', 'frames sampled per video, evenly spaced', positiveInt, 16)
    .option('--max-side <px>', 'downscale larger images to this side first', positiveInt, 4096)
    .option('--max-megapixels <n>', 'refuse larger images (and video frames) before decoding them', positiveNumber, 40)
    .addOption(methodOption())
    .addOption(new Option('--variant <name>', 'variant, for weights without a config in their metadata (default msccnet)').choices(variantNames()))
    .option('--input-size <side>', "input side, for weights without a config in their metadata (default: the method's)", positiveInt)
    .action(async (inputs: string[], opts: DetectCliOptions) => {
      await ensureWritableDir(opts.out);
      const files = await collectInputs(inputs);
      const engine = await openEngine(opts.model, {
        engine: opts.engine,
        threads: opts.threads,
        method: opts.method,
        variant: opts.variant,
        inputSize: opts.inputSize,
        device: opts.device,
      });
      const bar = files.length > 1 && opts.format === 'text' ? progressBar('detect', files.length) : null;
      let failed = 0;
      try {
        await detectFiles(engine, files, {
          outDir: opts.out,
          noFace: !opts.face,
          threshold: opts.threshold,
          maxFrames: opts.frames,
          maxSide: opts.maxSide,
          maxPixels: opts.maxMegapixels * 1e6,
          onEvent: (e) => {
            if (e.kind === 'warning') process.stderr.write(`${bar ? '\n' : ''}msccnet: warning: ${e.input}: ${e.message}\n`);
            if (e.kind !== 'result') return;
            const r = e.result;
            if (!r.ok) failed++;
            if (opts.format === 'json') process.stdout.write(`${JSON.stringify(r)}\n`);
            else if (!r.ok) process.stderr.write(`${bar ? '\n' : ''}msccnet: ${r.error.message}\n  → ${r.error.hint}\n`);
            else if (!bar)
              console.log(
                `${r.input}: ${r.label} (P(fake) ${r.score.toFixed(3)}), ${r.kind === 'image' ? `${r.faces.length} region(s)` : `${r.frames.length} frames`} → ${r.outputs.overlay}`,
              );
            bar?.update(e.done);
          },
        });
      } finally {
        bar?.stop();
        await engine.release();
      }
      if (opts.format === 'text' && files.length > 1)
        console.log(`${files.length - failed} of ${files.length} inputs done, ${failed} failed; outputs in ${opts.out}`);
      if (failed > 0) process.exitCode = 1;
    });
}
