/**
 * Converters from the checkpoint layouts users bring to our state-dict names, and the load
 * report (used / skipped / missing / shape-mismatched keys) that every load returns. Only names
 * are mapped here: the tensors stay whatever the source holds (.pth views, safetensors tensors).
 */
import type { Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { PthTensor, type PyValue } from '../nn/pth/index.js';
import { CheckpointLayoutError, WeightsError } from './errors.js';
import { ffdHeadToNative, isFfdHeadLayout, isUnusedFfdEntry } from './ffd/layout.js';

/**
 * The layouts we convert. Whole models: `official` (the authors' names, ours), `ffd-xception`
 * (FFD's repository-head `xception.py`, renamed to the native `xception_map.py` names).
 * ImageNet backbones: OpenMMLab/mmcv and torchvision ResNets, `cadene` (pretrainedmodels'
 * Xception, pointwise weights stored 2-D), `efficientnet` (lukemelas/EfficientNet-PyTorch release
 * files, advprop included: `_conv_stem`, `_blocks.N.…`, `_fc`), `hrnet` (HRNet-Image-Classification's
 * ImageNet files: `conv1`, `layer1`, `stageN.M.branches…`, its classifier heads skipped; CAT-Net's
 * `hrnetv2_w48_imagenet_pretrained.pth`), `catnet-dct` (CAT-Net's `DCT_djpeg.pth.tar`: the DCT
 * stream of `network_DCT.py`, its own double-JPEG `last_layer` left out, as the official `init_weights`).
 */
export const CONVERTER_NAMES = ['official', 'openmmlab', 'torchvision', 'cadene', 'efficientnet', 'hrnet', 'ffd-xception', 'catnet-dct'] as const;
export type ConverterName = (typeof CONVERTER_NAMES)[number];
const BACKBONE_LAYOUTS: readonly ConverterName[] = ['openmmlab', 'torchvision', 'cadene', 'efficientnet', 'hrnet', 'catnet-dct'];

/** Where a model's ImageNet backbone sits, so a backbone file fills every copy of it. */
export interface BackboneScope {
  /** the ImageNet layouts this backbone takes */
  readonly layouts: readonly ConverterName[];
  /** prefix of each copy of the backbone: `backbone_net.`; MVSS-Net `model.` and `noise_extractor.model.`; FFD '' */
  readonly prefixes: readonly string[];
  /** the model entries a backbone file of `layout` should fill (the rest are the method's head), for `missing` */
  covers(key: string, layout: ConverterName): boolean;
  /**
   * Further backbone entries (unprefixed) that a source key also fills where the file has no key
   * of their own: HiFi-Net's official renames (`conv1fre` from `conv1`, stage-2 branches 2–3 from
   * stages 3–4 of HRNet-W18-small-v2).
   */
  aliases?(target: string): readonly string[];
}

/** A method without an ImageNet backbone (trained from scratch officially): only whole checkpoints load. */
export const NO_BACKBONE: BackboneScope = { layouts: [], prefixes: [], covers: () => false };

/** MSCCNet's: the V1c/torchvision ResNet under `backbone_net.`. */
export const MSCCNET_BACKBONE: BackboneScope = {
  layouts: ['openmmlab', 'torchvision'],
  prefixes: ['backbone_net.'],
  covers: (k) => k.startsWith('backbone_net.'),
};

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
  /** where the model's ImageNet backbone sits (default: MSCCNet's `backbone_net.`) */
  backbone?: BackboneScope;
}

const FC_REASON = 'ImageNet classifier (fc/last_linear/_fc): the method has its own head';
const HRNET_HEAD_REASON = 'HRNet ImageNet classification head (incre_modules/downsamp_modules/final_layer/classifier): the method has its own head';
const DCT_HEAD_REASON = "the DCT stream's double-JPEG head (last_layer): CAT-Net has its own, as the official init_weights leaves it out";
/** skips that are the layout's design, not a problem */
const HEAD_REASONS = new Set([FC_REASON, HRNET_HEAD_REASON, DCT_HEAD_REASON]);
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

/**
 * The state dict of a loaded .pth: its {model: …}, {state_dict: …}, FFD's {net: …} (`xception.py`
 * Model.save) or {module: …} (`train_map_supervised.py`), M2TR's {model_state: …}
 * (`utils/checkpoint.py`), or the dict of tensors itself.
 */
export function stateDictTensors(root: PyValue, source = 'checkpoint'): Map<string, PthTensor> {
  const asTensors = (v: PyValue | undefined): Map<string, PthTensor> | null => {
    if (!(v instanceof Map)) return null;
    const out = new Map<string, PthTensor>();
    for (const [k, t] of v) if (typeof k === 'string' && t instanceof PthTensor) out.set(k, t);
    return out.size > 0 ? out : null;
  };
  const root_ = root instanceof Map ? root : null;
  const tensors =
    ['model', 'state_dict', 'net', 'module', 'model_state'].reduce<Map<string, PthTensor> | null>((found, k) => found ?? asTensors(root_?.get(k)), null) ??
    asTensors(root_ ?? undefined);
  if (tensors === null) {
    throw new CheckpointLayoutError(
      source,
      'no state dict: neither a {model: …}, a {state_dict: …} nor a dict of tensors',
      'pass a checkpoint that holds a state dict (torch.save(model.state_dict(), path))',
    );
  }
  return tensors;
}

/**
 * Which layout a set of keys follows (after stripping DDP's `module.`), or null when none. An
 * Xception with FFD's map is a whole FFD model (`official`); without one, Cadene's ImageNet file.
 * FFD's head layout is not guessed: it is renamed, so the user names it (requireConverter says how).
 */
export function detectConverter(keys: Iterable<string>): ConverterName | null {
  const names = [...keys].map((k) => k.replace(/^module\./, '').replace(/^backbone\./, ''));
  if (isFfdHeadLayout(names)) return null;
  if (
    names.some(
      (k) => k.startsWith('backbone_net.') || k.startsWith('decoder.') || k.startsWith('mscc.') || k.startsWith('model._conv_stem.') || k.startsWith('FENet.'),
    )
  )
    return 'official';
  if (names.some((k) => k.startsWith('_conv_stem.'))) return 'efficientnet';
  if (names.some((k) => k.startsWith('dc_layer0_dil.'))) return names.some((k) => k.startsWith('conv1.')) ? 'official' : 'catnet-dct';
  if (names.some((k) => /^(model\.)?stage\d\.\d+\.branches\./.test(k))) return 'hrnet';
  if (names.some((k) => k.startsWith('block1.rep.'))) return names.some((k) => k.startsWith('map.')) ? 'official' : 'cadene';
  if (names.some((k) => k.startsWith('conv1.'))) return 'torchvision';
  if (names.some((k) => k.startsWith('stem.') || k.startsWith('layer1.'))) return 'openmmlab';
  return null;
}

/** A CheckpointLayoutError naming the --from for keys of a layout that is renamed on conversion (FFD's head layout). */
export function rejectRenamedLayout(keys: Iterable<string>, source = 'checkpoint'): void {
  if (isFfdHeadLayout(keys)) {
    throw new CheckpointLayoutError(
      source,
      "an FFD checkpoint in the repository head's xception.py layout (skip_bn, SeparableConv2d.c), not msccnet's xception_map.py one",
      'convert it: msccnet weights convert IN --method ffd --from ffd-xception -o OUT.safetensors',
    );
  }
}

/** detectConverter, or a CheckpointLayoutError asking for --from (naming it for FFD's head layout). */
export function requireConverter(keys: Iterable<string>, source = 'checkpoint'): ConverterName {
  const list = [...keys];
  rejectRenamedLayout(list, source);
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

/** The model key a source key maps to (before a backbone prefix), or why it is skipped. */
export function targetKey(converter: ConverterName, key: string): { target: string } | { reason: string } {
  let name = key.replace(/^module\./, '');
  if (converter === 'official') return { target: name };
  if (converter === 'ffd-xception') return { target: ffdHeadToNative(name) };
  name = name.replace(/^backbone\./, ''); // mmseg/mmcls segmentor and classifier checkpoints
  if (converter === 'hrnet') name = name.replace(/^model\./, ''); // HRNet-Semantic-Segmentation's FullModel, which HiFi-Net's init_weights reads
  if (converter === 'catnet-dct' && name.startsWith('last_layer.')) return { reason: DCT_HEAD_REASON };
  if (/^(fc|head|last_linear|_fc)\./.test(name)) return { reason: FC_REASON };
  if (converter === 'hrnet' && /^(incre_modules|downsamp_modules|final_layer|classifier)\./.test(name)) return { reason: HRNET_HEAD_REASON };
  return { target: name };
}

/**
 * Copies a checkpoint's tensors into `model` under the converter's name map and reports every
 * key. Whole-model layouts are strict (every model entry, nothing extra; FFD's head layout
 * lacks only the modules FFD never runs); backbone layouts fill every copy of the backbone
 * (options.backbone) and leave the head, with Cadene's 2-D pointwise weights unsqueezed to
 * [out, in, 1, 1] as SLADD and FFD load them. Throws WeightsError when nothing fits, when a
 * strict load is incomplete, when the method's backbone does not take the layout, or when
 * torchvision's stem meets a deep-stem model without `layersOnly`.
 */
export function loadConverted(model: Module, weights: SourceWeights, source: string, options: ConvertOptions = {}): LoadReport {
  const own = model.stateDict();
  const { converter } = weights;
  const backbone = options.backbone ?? MSCCNET_BACKBONE;
  const whole = !BACKBONE_LAYOUTS.includes(converter);
  if (!whole && !backbone.layouts.includes(converter)) {
    throw new WeightsError(
      source,
      [`a ${converter} ImageNet file does not fit this model's backbone`],
      `its backbone takes ${backbone.layouts.length > 0 ? backbone.layouts.join(' or ') : 'no ImageNet layout'}: pass such a file, or --from official for a whole checkpoint`,
    );
  }
  const report: LoadReport = { source, converter, used: [], skipped: [], missing: [], shapeMismatched: [] };
  const take = new Map<string, Tensor>();
  const deepStem = [...own.keys()].some((k) => /(^|\.)stem\.0\.weight$/.test(k) && backbone.covers(k, converter));
  const direct = new Set([...weights.tensors.keys()].map((key) => targetKey(converter, key)).flatMap((m) => ('target' in m ? [m.target] : [])));
  const withAliases = (target: string) => (whole ? [] : (backbone.aliases?.(target) ?? []).filter((a) => !direct.has(a)));
  for (const [key, t] of weights.tensors) {
    const mapped = targetKey(converter, key);
    if ('reason' in mapped) {
      report.skipped.push({ key, reason: mapped.reason });
      continue;
    }
    const names = [mapped.target, ...withAliases(mapped.target)];
    const targets = names
      .flatMap((n) => (whole ? [n] : backbone.prefixes.map((p) => p + n)))
      .filter((k) => own.has(k) && (whole || backbone.covers(k, converter)));
    if (targets.length === 0) {
      const stem = converter === 'torchvision' && deepStem && /^(conv1|bn1)\./.test(mapped.target);
      report.skipped.push({ key, reason: stem ? TORCHVISION_STEM_REASON : `no model entry '${mapped.target}'` });
      continue;
    }
    // Cadene's file stores the pointwise 1×1 weights as [out, in]
    const pointwise2d = converter === 'cadene' && mapped.target.endsWith('pointwise.weight') && t.shape.length === 2;
    const shape = pointwise2d ? [...t.shape, 1, 1] : [...t.shape];
    const target = own.get(targets[0])!;
    if (shape.join() !== target.shape.join()) {
      report.shapeMismatched.push({ key, target: targets[0], source: [...t.shape], model: [...target.shape] });
    } else if (targets.some((k) => take.has(k))) {
      report.skipped.push({ key, reason: `duplicate of another key for '${targets[0]}'` });
    } else {
      const value = t instanceof PthTensor ? t.toTensor() : t;
      for (const k of targets) take.set(k, pointwise2d ? value.reshape(shape) : value);
      report.used.push(key);
    }
  }
  // files saved before PyTorch 0.4.1 (Cadene's Xception) have no num_batches_tracked; PyTorch's own load adds it
  const tracked = [...weights.tensors.keys()].some((k) => k.endsWith('.num_batches_tracked'));
  const inScope = whole
    ? (k: string) => !(converter === 'ffd-xception' && isUnusedFfdEntry(k))
    : (k: string) => backbone.covers(k, converter) && (tracked || !k.endsWith('.num_batches_tracked'));
  report.missing = [...own.keys()].filter((k) => inScope(k) && !take.has(k));
  const problems = reportProblems(report);
  const refuse = (list: string[], hint: string): never => {
    throw new WeightsError(source, list, hint);
  };
  if (report.used.length === 0)
    refuse(
      [`none of ${weights.tensors.size} tensors fits the model (${converter} layout)`, ...problems],
      'check --from and the model config (depth, channels, useStem)',
    );
  if (whole && problems.length > 0) {
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

/** One line per missing, mismatched or unexpected key, for errors. */
export function reportProblems(report: LoadReport): string[] {
  const lines = [
    ...report.missing.map((k) => `missing: ${k}`),
    ...report.shapeMismatched.map((m) => `shape: ${m.key} is [${m.source.join(', ')}], the model's ${m.target} is [${m.model.join(', ')}]`),
    ...report.skipped.filter((s) => !HEAD_REASONS.has(s.reason)).map((s) => `unexpected: ${s.key} (${s.reason})`),
  ];
  return lines.length > 20 ? [...lines.slice(0, 20), `… ${lines.length - 20} more`] : lines;
}

/** A one-line summary of a report for logs and the CLI. */
export function reportSummary(report: LoadReport): string {
  return `${report.source} (${report.converter}): ${report.used.length} used, ${report.skipped.length} skipped, ${report.missing.length} missing, ${report.shapeMismatched.length} shape-mismatched`;
}
