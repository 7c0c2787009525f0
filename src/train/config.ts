/**
 * The training configuration: one validated object with every default (the official recipe,
 * official-spec §7–§9) and a description per field. Files may be JSON or YAML; `--set a.b=v`
 * overrides any field. Unknown keys are errors that name themselves.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, InputFileError, parseWith } from '../errors.js';
import { methodDefinition, METHOD_NAMES, variantConfig, type MsccnetConfigInput } from '../models/index.js';
import { DEVICE_SPEC, PRECISIONS } from '../torch/device.js';
import { AUGMENT_PRESETS } from '../samples/augment.js';

const DataConfig = z.strictObject({
  manifest: z.string().nullable().default(null).describe('manifest.jsonl from `msccnet prepare` (paths relative to its folder); or set root'),
  root: z.string().nullable().default(null).describe('the reference folder layout (official-spec §8.1): the folder holding train.txt and <comp>/<method>/…'),
  compression: z.string().default('c40').describe('compression to train and test on (official C40)'),
  methods: z
    .array(z.string())
    .default(['NeuralTextures', 'Deepfakes', 'Face2Face', 'FaceShifter', 'FaceSwap'])
    .describe('manipulation methods used (official fake_type order); reals are always included'),
  trainSplit: z.string().default('train').describe('split name of the training samples'),
  valSplit: z.string().default('val').describe('split name used for validation during training'),
  testSplit: z.string().default('test').describe('split name used by `benchmark`'),
  pairReals: z.boolean().default(true).describe('official list: every fake is followed by the real crop of the same frame (reals repeat once per method)'),
  augment: z.enum(AUGMENT_PRESETS).default('official').describe('official: rescale, crop, flip, photometric distortion, pad (the code); paper: flip only'),
  cropSize: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("training crop side: the model's input side (model.inputSize), which it sets when model.inputSize is not given"),
  scaleBase: z.number().int().positive().default(520).describe('official rescale target side before the crop (520 for a 512 crop), times U[0.5, 2)'),
  workers: z.number().int().min(0).default(2).describe('decode/augment worker threads; 0 runs them on the main thread'),
  prefetch: z.number().int().min(1).default(4).describe('batches decoded ahead of the trainer'),
  maxSkippedFraction: z
    .number()
    .min(0)
    .max(1)
    .default(0.25)
    .describe(
      'stop the run (it stays resumable) when more than this share of the samples loaded since it started could not be read (checked from 4 batches on); a batch with none readable is a step without an update',
    ),
});

const OptimConfig = z.strictObject({
  optimizer: z
    .enum(['sgd', 'adamw'])
    .default('sgd')
    .describe('sgd (official, from ImageNet weights) or adamw (decoupled decay; learns far faster from random init)'),
  lr: z
    .number()
    .positive()
    .max(1e6)
    .default(0.009)
    .describe('base learning rate (official 0.009), at most 1e6 (an overflow guard: a diverging rate stops the run at its first non-finite loss)'),
  momentum: z.number().min(0).max(1).default(0.9).describe('SGD momentum, no nesterov, no dampening'),
  betas: z
    .tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)])
    .default([0.9, 0.999])
    .describe('AdamW (β1, β2)'),
  eps: z.number().positive().max(1).default(1e-8).describe('AdamW ε, at most 1'),
  weightDecay: z
    .number()
    .min(0)
    .max(1)
    .default(5e-4)
    .describe('on every parameter, BN and biases included (one group): L2 for SGD, decoupled for AdamW; at most 1 (official 5e-4; AdamW recipes 0.01–0.1)'),
  power: z.number().positive().max(10).default(0.9).describe('poly exponent, applied per iteration; at most 10'),
  minLrRatio: z.number().min(0).max(1).default(0.01).describe('poly floor as a fraction of lr (official 0.01; paper 0)'),
});

const RunConfig = z.strictObject({
  dir: z.string().default('runs/msccnet').describe('run folder: config, log.jsonl, checkpoints'),
  logEvery: z.number().int().positive().default(10).describe('optimiser steps between log lines'),
  checkpointEveryEpochs: z.number().int().positive().default(1).describe('epochs between checkpoints (official 1)'),
  checkpointEverySteps: z.number().int().min(0).default(0).describe('also checkpoint every N steps (0: off)'),
  keepLast: z.number().int().positive().default(2).describe('checkpoints kept besides the best (official 2)'),
  valEveryEpochs: z
    .number()
    .int()
    .positive()
    .default(30)
    .describe('epochs between validations; best checkpoint by pixel mIoU (official: once, after epoch 30)'),
  maxSteps: z.number().int().min(0).default(0).describe('stop after this many optimiser steps (0: run every epoch); the schedule still spans all epochs'),
  threads: z.number().int().min(0).default(0).describe('libtorch intra-op threads (0: libtorch default)'),
  weights: z.string().nullable().default(null).describe('whole-model safetensors to start from'),
  backboneWeights: z.string().nullable().default(null).describe('older name of model.pretrained (used when that is null)'),
});

const DistributedConfig = z.strictObject({
  syncBn: z.boolean().default(true).describe('synchronise BatchNorm statistics across processes (official SyncBN)'),
  backend: z.enum(['auto', 'gloo', 'nccl']).default('auto').describe('c10d backend: auto = nccl when the device is a GPU, gloo on the CPU'),
  masterAddr: z.string().default('127.0.0.1').describe('address of rank 0'),
  masterPort: z.number().int().min(1).max(65535).default(29500).describe('TCP port of the rendezvous store'),
  timeoutSeconds: z.number().positive().default(1800).describe('rendezvous and every collective fail after this long (torch.distributed default: 30 min)'),
  networkInterface: z
    .string()
    .default('')
    .describe("network interface for Gloo, e.g. eth0 (empty: loopback when masterAddr is local, else the host's address)"),
});

export const TrainConfigSchema = z.strictObject({
  method: z
    .enum(METHOD_NAMES)
    .default('msccnet')
    .describe(`the method to train (models/registry.ts): ${METHOD_NAMES.join(', ')}`),
  model: z
    .record(z.string(), z.unknown())
    .prefault({})
    .describe("the network: the method's own config fields over its official defaults (`--help-config --method NAME` lists them)"),
  data: DataConfig.prefault({}),
  optim: OptimConfig.prefault({}),
  losses: z
    .record(z.string(), z.number().min(0).max(1000))
    .prefault({})
    .describe("multiplier per loss term over the method's own weighting (1 when absent; msccnet: img_cls, pix_cls_map, pix_cls_mask), 0 to 1000"),
  run: RunConfig.prefault({}),
  distributed: DistributedConfig.prefault({}),
  epochs: z.number().int().positive().default(30).describe('epochs (official 30)'),
  batchSize: z.number().int().positive().default(64).describe('global batch per optimiser step (official 64)'),
  microBatch: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('samples per forward; the batch is accumulated over batchSize/(microBatch·processes) passes (0: whole batch at once)'),
  seed: z.number().int().min(0).default(866).describe('seed of data order, augmentation and dropout (official 866)'),
  device: z
    .string()
    .regex(DEVICE_SPEC, 'expected auto, cpu, cuda or cuda:N')
    .default('auto')
    .describe('auto (a GPU when the addon sees one, else the CPU), cpu, cuda (GPU = local rank) or cuda:N; a run resumes on any device'),
  precision: z.enum(PRECISIONS).default('fp32').describe('fp32, or autocast: bf16 (GPU, and CPU) or fp16 (GPU only, with a gradient scaler)'),
  preciseBn: z
    .strictObject({ batches: z.number().int().positive().describe('training forwards averaged') })
    .optional()
    .describe(
      'precise BN (Wu & Johnson 2021; detectron2 PreciseBN): after the last step, before the final validation and checkpoint, every BatchNorm running mean/var becomes the average over this many train-mode forwards on fresh training batches (absent: off)',
    ),
  channelsLast: z.boolean().default(false).describe('NHWC memory format for weights and inputs (faster convolutions on tensor cores)'),
  cudnnBenchmark: z
    .boolean()
    .default(true)
    .describe('let cuDNN time its convolution algorithms per input shape (the crop size is fixed); no effect on the CPU'),
});

type ParsedSchema = z.output<typeof TrainConfigSchema>;

/** A method's validated model config: its own fields, every default filled in; each has an input side. */
export type MethodConfig = Readonly<Record<string, unknown>> & { readonly inputSize: number };

/** A validated training config: `model` validated by the method's schema, every loss term's multiplier, one input side. */
export type TrainConfig = Omit<ParsedSchema, 'model' | 'losses' | 'data'> & {
  readonly model: MethodConfig;
  readonly losses: Readonly<Record<string, number>>;
  readonly data: Omit<ParsedSchema['data'], 'cropSize'> & { readonly cropSize: number };
};
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/**
 * Validates a raw config over the defaults; throws ConfigError naming every bad field. `model`
 * goes through the method's own schema and `losses` must name the method's terms. The crop side
 * and the model's input side are one number: either field sets the other, and two different
 * values are an error.
 */
export function parseTrainConfig(input: unknown): TrainConfig {
  const hint = 'fix the named fields; `msccnet train --help-config` lists them';
  const unsafe = unsafeKeyPaths(input);
  if (unsafe.length > 0)
    throw new ConfigError(
      unsafe.map((p) => `${p}: the key '${p.split('.').pop()}' is refused (no config field has that name)`),
      hint,
    );
  const c = parseWith(TrainConfigSchema, input ?? {}, hint);
  const def = methodDefinition(c.method);
  const crop = c.data.cropSize;
  const model = parseWith(
    def.schema,
    c.model.inputSize === undefined && crop !== undefined ? { ...c.model, inputSize: crop } : c.model,
    `fix the named fields; the defaults are ${c.method}'s official ones (\`msccnet train --help-config --method ${c.method}\`)`,
    { prefix: 'model.' },
  ) as MethodConfig;
  const extra: string[] = [];
  if (crop !== undefined && crop !== model.inputSize) {
    extra.push(`data.cropSize: ${crop} ≠ model.inputSize ${model.inputSize}; the training crop is the model's input, set one of them`);
  }
  for (const k of Object.keys(c.losses)) {
    if (!def.lossTerms.includes(k)) extra.push(`losses.${k}: not a loss term of ${c.method} (its terms: ${def.lossTerms.join(', ')})`);
  }
  if (c.microBatch > 0 && c.batchSize % c.microBatch !== 0) extra.push(`microBatch: ${c.microBatch} does not divide batchSize ${c.batchSize}`);
  if ((c.data.manifest === null) === (c.data.root === null)) extra.push('data: set exactly one of data.manifest and data.root');
  if (extra.length) throw new ConfigError(extra, hint);
  const losses = Object.fromEntries(def.lossTerms.map((k) => [k, c.losses[k] ?? 1]));
  return { ...c, model, losses, data: { ...c.data, cropSize: model.inputSize } };
}

/** Reads a JSON or YAML file (by extension; YAML is a superset of JSON for anything else). */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputFileError(path, 'cannot be read', 'pass an existing JSON or YAML config file', { cause: err });
  }
  try {
    return extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InputFileError(path, `is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`, 'fix the syntax', { cause: err });
  }
}

/**
 * Key segments refused in configs and override paths: through plain property access they reach
 * Object.prototype (`__proto__.x=1` would give every object of the process an `x`).
 */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** One `key.path=value` override: its key segments and its value (YAML: numbers, booleans, null, [lists]; else the text). */
export function parseOverride(o: string): { keys: string[]; value: unknown } {
  const eq = o.indexOf('=');
  if (eq <= 0) throw new ConfigError([`--set ${o}: expected key.path=value`]);
  const keys = o.slice(0, eq).split('.');
  const unsafe = keys.find((k) => UNSAFE_KEYS.has(k));
  if (unsafe !== undefined) throw new ConfigError([`--set ${o}: the key '${unsafe}' is refused (no config field has that name)`]);
  if (keys.some((k) => k === '')) throw new ConfigError([`--set ${o}: an empty key in the path`]);
  const text = o.slice(eq + 1);
  try {
    return { keys, value: parseYaml(text) };
  } catch {
    return { keys, value: text };
  }
}

/** Applies `key.path=value` overrides (see {@link parseOverride}) to a raw config; intermediate objects are created. */
export function applyOverrides(raw: unknown, overrides: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const o of overrides) {
    const { keys, value } = parseOverride(o);
    let node = out;
    for (const k of keys.slice(0, -1)) {
      const next = Object.hasOwn(node, k) ? node[k] : undefined;
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

/**
 * The paths of keys named `__proto__`, `constructor` or `prototype` anywhere in a raw config
 * (JSON and YAML parsers make them own keys; assigning them onward would not be). Each object
 * is visited once, so YAML aliases and cycles cost nothing extra.
 */
function unsafeKeyPaths(input: unknown): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const pending: [unknown, string][] = [[input, '']];
  while (pending.length > 0 && found.length < 10) {
    const [value, path] = pending.pop()!;
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    for (const [k, v] of Object.entries(value)) {
      const at = path === '' ? k : `${path}.${k}`;
      if (UNSAFE_KEYS.has(k)) found.push(at);
      else pending.push([v, at]);
    }
  }
  return found;
}

/** Field paths, defaults and descriptions (for `--help-config`); `model` and `losses` are the method's own. */
export function describeConfig(method: string = 'msccnet'): { path: string; default: unknown; description: string }[] {
  const defaults = parseTrainConfig({ method, data: { manifest: 'manifest.jsonl' } }) as unknown as Record<string, unknown>;
  const def = methodDefinition(method);
  const rows: { path: string; default: unknown; description: string }[] = [];
  const walk = (schema: z.ZodType, path: string[], value: unknown): void => {
    const inner = unwrap(schema);
    const at = path.join('.');
    if (at === 'model' && schema !== def.schema) return walk(def.schema, path, value);
    if (at === 'losses') {
      for (const k of def.lossTerms)
        rows.push({ path: `losses.${k}`, default: 1, description: `multiplier of ${method}'s loss term ${k} (over its own weighting)` });
      return;
    }
    if (inner instanceof z.ZodObject) {
      for (const [k, s] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
        walk(s, [...path, k], (value as Record<string, unknown> | undefined)?.[k]);
      }
      return;
    }
    rows.push({ path: at, default: at === 'data.manifest' ? null : value, description: schema.description ?? inner.description ?? '' });
  };
  walk(TrainConfigSchema, [], defaults);
  return rows;
}

/** The object schema under default/prefault/optional/pipe wrappers, if any. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (let i = 0; i < 8; i++) {
    const def = (s as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
    if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable') && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else break;
  }
  return s;
}

/**
 * A raw config with a registered variant's model fields (Tables 6–8: `base`, `mfa`, `no-gcn`, …)
 * over its own `model` section, as `export --variant` builds it; `--set` overrides apply after.
 */
export function applyVariant(raw: unknown, variant: string): Record<string, unknown> {
  const out = structuredClone((raw ?? {}) as Record<string, unknown>);
  const model = (typeof out.model === 'object' && out.model !== null ? out.model : {}) as Record<string, unknown>;
  const fields: MsccnetConfigInput = variantConfig(variant).config;
  // a run's config.json holds the resolved `auxLoss: true`; without MSCC there is no aux map, so the loss follows `mscc` (off)
  if (fields.mscc === false && fields.auxLoss === undefined) delete model.auxLoss;
  return { ...out, model: { ...model, ...fields } };
}
