import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { InputFileError } from '../errors.js';
import { DETFILL_OFFSET_BASIS } from '../models/detfill.js';
import { runDetfillCheck } from '../models/detfill-check.js';
import { buildMsccnet, variantConfig, variantNames } from '../models/msccnet/index.js';
import type { DeviceSpec } from '../torch/device.js';
import { buildMethod, methodDefinition } from '../models/registry.js';
import { methodComplexity } from '../onnx/complexity.js';
import { positiveInt, tensorIndex, uint32 } from './args.js';

/** `msccnet model`: parameter counts of the variants, and the detfill parity check at any size. */
export function makeModelCommand(): Command {
  return new Command('model')
    .description('MSCCNet variants: parameter counts (--summary) and the deterministic-weight check against the reference (--check-detfill)')
    .option('--summary', 'print a parameter-count table of the variants')
    .addOption(new Option('--variant <name...>', 'variants for --summary (default: all)'))
    .addOption(
      new Option(
        '--method <name...>',
        'with --summary: parameters and multiply-adds at --size² of registered methods (msccnet, hpfcn, multitask, ffd, mvss, sladd)',
      ),
    )
    .option('--check-detfill', 'build the reference config with detfill-v1 weights, run the scheme input, print JSON')
    .option('--size <side>', 'input side for --check-detfill (the DCT side is side/8) and for the MACs of --method', positiveInt, 512)
    .option('--batch <n>', 'batch size for --check-detfill', positiveInt, 1)
    .option('--offset-basis <n>', 'FNV-1a offset basis of the weight scheme', uint32, DETFILL_OFFSET_BASIS)
    .option('--mask-index <n,k,row,col>', 'mask-logit index to print (repeatable; default: corners and centre)', tensorIndex)
    .option('--samples <expected.json>', "also print each stage's values at the sample indices of a fixture-format file (`stages.<name>.samples[].index`)")
    .option('--threads <n>', 'intra-op threads', positiveInt)
    .option('--device <name>', 'where --check-detfill runs: auto, cpu, cuda or cuda:N', 'cpu')
    .action(
      (
        opts: {
          summary?: boolean;
          variant?: string[];
          method?: string[];
          checkDetfill?: boolean;
          size: number;
          batch: number;
          offsetBasis: number;
          maskIndex?: number[][];
          samples?: string;
          threads?: number;
          device: string;
        },
        command: Command,
      ) => {
        if (!opts.summary && !opts.checkDetfill) command.error('error: give --summary and/or --check-detfill');
        if (opts.summary && opts.method !== undefined) printMethodSummary(opts.method, opts.size);
        else if (opts.summary) printSummary(opts.variant ?? variantNames());
        if (opts.checkDetfill) {
          const last = Math.ceil(opts.size / 8) - 1;
          const maskIndices = opts.maskIndex ?? [
            [0, 0, 0, 0],
            [0, 1, 0, last],
            [0, 1, last >> 1, last >> 1],
            [0, 0, last, 0],
            [0, 1, last, last],
          ];
          const stageSamples = opts.samples === undefined ? undefined : readSampleIndices(opts.samples);
          const result = runDetfillCheck({
            size: opts.size,
            batch: opts.batch,
            offsetBasis: opts.offsetBasis,
            maskIndices,
            stageSamples,
            threads: opts.threads,
            device: opts.device as DeviceSpec,
          });
          console.log(JSON.stringify(result, null, 1));
        }
      },
    );
}

/** Per stage, the multi-indices of a fixture-format JSON (`stages.<name>.samples[].index`). */
function readSampleIndices(path: string): Record<string, number[][]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `cannot read JSON (${err instanceof Error ? err.message : String(err)})`, 'pass an expected.json of a msccnet fixture', {
      cause: err,
    });
  }
  const stages = (parsed as { stages?: Record<string, { samples?: { index?: unknown }[] }> }).stages;
  if (typeof stages !== 'object' || stages === null) throw new InputFileError(path, 'has no `stages` object', 'pass an expected.json of a msccnet fixture');
  return Object.fromEntries(
    Object.entries(stages).map(([name, s]) => [
      name,
      (s.samples ?? []).map((x) => x.index).filter((i): i is number[] => Array.isArray(i) && i.every(Number.isInteger)),
    ]),
  );
}

/** One row per method: its parameters and multiply-adds at side² (MSCCNet built for that side). */
function printMethodSummary(names: readonly string[], side: number): void {
  const rows = names.map((name) => {
    const definition = methodDefinition(name);
    const model = buildMethod(name, { inputSize: side });
    const c = methodComplexity(model, side);
    model.dispose();
    return [name, c.parameters.toLocaleString('en-US'), `${(c.macs / 1e9).toFixed(2)} G`, definition.source];
  });
  printTable(['method', 'parameters', `MACs @ ${side}²`, 'source'], rows, [1, 2]);
}

function printTable(header: string[], rows: string[][], rightAligned: readonly number[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string =>
    cells
      .map((v, c) => (rightAligned.includes(c) ? v.padStart(widths[c]) : v.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

function printSummary(names: readonly string[]): void {
  const rows = names.map((name) => {
    const variant = variantConfig(name);
    const model = buildMsccnet(name);
    const params = model.numParameters();
    model.dispose();
    return [name, variant.table, params.toLocaleString('en-US'), variant.description];
  });
  printTable(['variant', 'table', 'parameters', 'description'], rows, [2]);
}
