/**
 * Converters from the checkpoint layouts users bring to our state-dict names, and the load
 * report (used / skipped / missing / shape-mismatched keys) that every load returns. Only names
 * are mapped here: the tensors stay whatever the source holds (.pth views, safetensors tensors).
 */
import type { Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { PthTensor, type PyValue } from '../nn/pth/index.js';
import { CheckpointLayoutError, WeightsError } from './errors.js';

/** The layouts we convert: the authors' trainer, OpenMMLab/mmcv pretrain, torchvision, Cadene's pretrainedmodels Xception. */
export type ConverterName = 'official' | 'openmmlab' | 'torchvision' | 'cadene';
export const CONVERTER_NAMES: readonly ConverterName[] = ['official', 'openmmlab', 'torchvision', 'cadene'];

/** Anything with a shape: a .pth tensor or one of ours. */
export type SourceTensor = PthTensor | Tensor;

/** A checkpoint's tensors by their source key, and which layout they follow. */
export interface SourceWeights<T extends SourceTensor = SourceTensor> {
  converter: ConverterName;
  /** what the checkpoint held besides its state dict (cur_epoch, meta, …), for inspect */
  tensors: Map<string, T>;
}

/** What a load took and left; written to log.jsonl by train, printed by `weights convert`. */
export interface LoadReport {
  source: string;
  converter: ConverterName;
  /** source keys copied into the model */
  used: string[];
  /** source keys not used, with the reason */
  skipped: { key: string; reason: string }[];
  /** model entries (in the converter's scope) the source did not provide: they keep their values */
  missing: string[];
  /** source keys whose tensor does not fit the model entry they map to */
  shapeMismatched: { key: string; target: string; source: number[]; model: number[] }[];
}

export interface ConvertOptions {
  /** torchvision into a deep-stem model: load layer1–4 and skip the 7×7 stem, instead of refusing */
  layersOnly?: boolean;
}

const FC_REASON = 'ImageNet classifier (fc): MSCCNet has no counterpart';
const CADENE_FC_REASON = 'ImageNet classifier (fc): the heads start from their own initialisation, as the official loads';
/** A key every Cadene Xception has; its prefix in a model is where the Xception sits (`model.` in SLADD, none in FFD). */
const CADENE_PROBE = 'block1.rep.0.pointwise.weight';
const TORCHVISION_STEM_REASON =
  "torchvision's single 7×7 stem (conv1/bn1) cannot map onto the deep 3×3 stem (V1c); build the model with useStem: false to use it";

/**
 * Finds the state dict of a checkpoint and names its layout: `{'model': …}` (the authors'
 * trainer, keys maybe `module.`-prefixed), `{'meta', 'state_dict'}` (OpenMMLab), or a bare state
 * dict (torchvision's `conv1`, OpenMMLab's `stem.0`, or our own whole-model names).
 */
export function sourceWeights(root: PyValue, from?: ConverterName, source = 'checkpoint'): SourceWeights<PthTensor> {
  const tensors = stateDictTensors(root, source);
  return { converter: from ?? requireConverter(tensors.keys(), source), tensors };
}

/** The state dict of a loaded .pth: its {model: …}, its {state_dict: …}, or the dict of tensors itself. */
export function stateDictTensors(root: PyValue, source = 'checkpoint'): Map<string, PthTensor> {
  const asTensors = (v: PyValue | undefined): Map<string, PthTensor> | null => {
    if (!(v instanceof Map)) return null;
    const out = new Map<string, PthTensor>();
    for (const [k, t] of v) if (typeof k === 'string' && t instanceof PthTensor) out.set(k, t);
    return out.size > 0 ? out : null;
  };
  const root_ = root instanceof Map ? root : null;
  const tensors = asTensors(root_?.get('model')) ?? asTensors(root_?.get('state_dict')) ?? asTensors(root_ ?? undefined);
  if (tensors === null) {
    throw new CheckpointLayoutError(
      source,
      'no state dict: neither a {model: …}, a {state_dict: …} nor a dict of tensors',
      'pass a checkpoint that holds a state dict (torch.save(model.state_dict(), path))',
    );
  }
  return tensors;
}

/** Which layout a set of keys follows (after stripping DDP's `module.`), or null when none. */
export function detectConverter(keys: Iterable<string>): ConverterName | null {
  const names = [...keys].map((k) => k.replace(/^module\./, '').replace(/^backbone\./, ''));
  if (names.some((k) => k.startsWith('backbone_net.') || k.startsWith('decoder.') || k.startsWith('mscc.'))) return 'official';
  if (names.includes(CADENE_PROBE)) return 'cadene'; // before torchvision: both have conv1
  if (names.some((k) => k.startsWith('conv1.'))) return 'torchvision';
  if (names.some((k) => k.startsWith('stem.') || k.startsWith('layer1.'))) return 'openmmlab';
  return null;
}

/** detectConverter, or a CheckpointLayoutError asking for --from. */
export function requireConverter(keys: Iterable<string>, source = 'checkpoint'): ConverterName {
  const list = [...keys];
  const found = detectConverter(list);
  if (found === null) {
    throw new CheckpointLayoutError(
      source,
      `no known layout (${CONVERTER_NAMES.join(', ')}) in keys such as ${list.slice(0, 3).join(', ')}`,
      `name the layout: --from ${CONVERTER_NAMES.join('|')} (model.pretrained: { file, from })`,
    );
  }
  return found;
}

/** The model key a source key maps to, or why it is skipped; `xceptionPrefix`: where a Cadene Xception sits in the model. */
export function targetKey(converter: ConverterName, key: string, xceptionPrefix = ''): { target: string } | { reason: string } {
  let name = key.replace(/^module\./, '');
  if (converter === 'official') return { target: name };
  if (converter === 'cadene') {
    return name.startsWith('fc.') || name.startsWith('last_linear.') ? { reason: CADENE_FC_REASON } : { target: `${xceptionPrefix}${name}` };
  }
  name = name.replace(/^backbone\./, ''); // mmseg/mmcls segmentor and classifier checkpoints
  if (name.startsWith('fc.') || name.startsWith('head.')) return { reason: FC_REASON };
  return { target: `backbone_net.${name}` };
}

/**
 * Copies a checkpoint's tensors into `model` under the converter's name map and reports every
 * key. The official converter is strict (every model entry, nothing extra); the backbone
 * converters fill `backbone_net.*` and leave the head. Throws WeightsError when nothing fits,
 * when a strict load is incomplete, or when torchvision's stem meets a deep-stem model without
 * `layersOnly`.
 */
export function loadConverted(model: Module, weights: SourceWeights, source: string, options: ConvertOptions = {}): LoadReport {
  const own = model.stateDict();
  const { converter } = weights;
  const report: LoadReport = { source, converter, used: [], skipped: [], missing: [], shapeMismatched: [] };
  const take = new Map<string, Tensor>();
  const deepStem = own.has('backbone_net.stem.0.weight');
  const xceptionPrefix = [...own.keys()].find((k) => k.endsWith(CADENE_PROBE))?.slice(0, -CADENE_PROBE.length) ?? '';
  for (const [key, t0] of weights.tensors) {
    const mapped = targetKey(converter, key, xceptionPrefix);
    if ('reason' in mapped) {
      report.skipped.push({ key, reason: mapped.reason });
      continue;
    }
    const target = own.get(mapped.target);
    // Cadene's pointwise convs are stored as [out, in] (PyTorch 0.3): unsqueezed to [out, in, 1, 1], as the official loads do
    const t = converter === 'cadene' && key.includes('pointwise') && t0.shape.length === 2 ? pointwise4d(t0) : t0;
    if (target === undefined) {
      const stem = converter === 'torchvision' && deepStem && /^backbone_net\.(conv1|bn1)\./.test(mapped.target);
      report.skipped.push({ key, reason: stem ? TORCHVISION_STEM_REASON : `no model entry '${mapped.target}'` });
    } else if (t.shape.join() !== target.shape.join()) {
      report.shapeMismatched.push({ key, target: mapped.target, source: [...t.shape], model: [...target.shape] });
    } else if (take.has(mapped.target)) {
      report.skipped.push({ key, reason: `duplicate of another key for '${mapped.target}'` });
    } else {
      take.set(mapped.target, t instanceof PthTensor ? t.toTensor() : t);
      report.used.push(key);
    }
  }
  const scope = converter === 'official' ? '' : converter === 'cadene' ? xceptionPrefix : 'backbone_net.';
  report.missing = [...own.keys()].filter((k) => k.startsWith(scope) && !take.has(k));
  const problems = reportProblems(report);
  const refuse = (list: string[], hint: string): never => {
    throw new WeightsError(source, list, hint);
  };
  if (report.used.length === 0)
    refuse(
      [`none of ${weights.tensors.size} tensors fits the model (${converter} layout)`, ...problems],
      'check --from and the model config (depth, channels, useStem)',
    );
  if (converter === 'official' && problems.length > 0) {
    refuse(problems, "a checkpoint of the authors' trainer loads whole: build the model with the configuration it was trained with (see fromOfficialConfig)");
  }
  if (report.shapeMismatched.length > 0)
    refuse(problems, 'the checkpoint is of another width or depth: set baseChannels / stemChannels / backboneDepth to match it');
  if (converter === 'torchvision' && deepStem && !options.layersOnly) {
    refuse([TORCHVISION_STEM_REASON], 'set model useStem: false, or ask for layer1–4 only (--layers-only / layersOnly: true)');
  }
  model.loadStateDict(take, { strict: false });
  return report;
}

/** A [out, in] pointwise weight as the [out, in, 1, 1] conv weight it is. */
function pointwise4d(t: SourceTensor): Tensor {
  const tensor = t instanceof PthTensor ? t.toTensor() : t;
  return tensor.reshape([...tensor.shape, 1, 1]);
}

/** One line per missing, mismatched or unexpected key, for errors. */
export function reportProblems(report: LoadReport): string[] {
  const lines = [
    ...report.missing.map((k) => `missing: ${k}`),
    ...report.shapeMismatched.map((m) => `shape: ${m.key} is [${m.source.join(', ')}], the model's ${m.target} is [${m.model.join(', ')}]`),
    ...report.skipped.filter((s) => s.reason !== FC_REASON && s.reason !== CADENE_FC_REASON).map((s) => `unexpected: ${s.key} (${s.reason})`),
  ];
  return lines.length > 20 ? [...lines.slice(0, 20), `… ${lines.length - 20} more`] : lines;
}

/** A one-line summary of a report for logs and the CLI. */
export function reportSummary(report: LoadReport): string {
  return `${report.source} (${report.converter}): ${report.used.length} used, ${report.skipped.length} skipped, ${report.missing.length} missing, ${report.shapeMismatched.length} shape-mismatched`;
}
