/**
 * What every method of the registry (registry.ts) is: MSCCNet and the benchmark's baselines
 * behind one interface, so training, export and inference need no per-method code. Each method
 * is an nn.Module whose forward returns image logits [B, 2] and mask logits [B, 2, h, w] (extra
 * heads named), with its own losses as named terms, its own preprocessing and input size, and a
 * zod config whose defaults are the authors' official ones.
 */
import { z } from 'zod';
import { parseWith } from '../errors.js';
import { torch, type Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { PreprocessSpec } from '../image/preprocess.js';
import { CONVERTER_NAMES, type BackboneScope } from './convert.js';

/** What every method's forward returns; extra heads are further named fields. */
export interface MethodOutputs {
  /** [B, 2] image logits, class 1 = fake */
  imgLogits: Tensor;
  /** [B, 2, h, w] mask logits at the method's own resolution (callers up-sample to the target) */
  maskLogits: Tensor;
}

/** Training targets, all derived from one batch: the mask (0 real, 1 fake, 255 ignored), the label, the input. */
export interface MethodTargets {
  /** [B, H, W] */
  segmentation: Tensor;
  /** [B] */
  label: Tensor;
  /** [B, 3, H, W] the normalised input (Multi-task reconstructs it) */
  image: Tensor;
}

/** Named loss terms (the method's own log keys) and their weighted sum `total`. */
export type NamedLosses = Readonly<Record<string, Tensor>> & { readonly total: Tensor };

/** What a method's input is: the one inference contract of src/image/preprocess.ts. */
export type Preprocessing = PreprocessSpec;

/** ImageNet statistics in 0–255 units (torchvision's Normalize × 255). */
export const IMAGENET_NORMALIZE = { channelOrder: 'rgb', mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], resize: 'cv2-linear' } as const;

/**
 * Inputs beyond the image, by name, that a method's forward reads: CAT-Net's DCT volume and
 * quantisation table. A method that needs none ignores them.
 */
export type AuxiliaryInputs = Readonly<Record<string, Tensor>>;

/** One auxiliary input a method needs, so export, complexity counts and the data side can build it. */
export interface AuxiliaryInputSpec {
  /** its key in AuxiliaryInputs (and the ONNX input name) */
  readonly name: string;
  /** its float32 shape for a batch of `batch` images of height × width */
  shape(batch: number, height: number, width: number): number[];
}

/** A built method: the module plus what the trainer, exporter and inference need to know. */
export interface MethodModel<O extends MethodOutputs = MethodOutputs> extends Module {
  readonly methodName: MethodName;
  readonly preprocessing: Preprocessing;
  /** the validated config, every default filled in (what a model file records) */
  readonly config: object;
  /** the auxiliary inputs the method reads beside the image (absent: none) */
  readonly auxiliaryInputs?: readonly AuxiliaryInputSpec[];
  forward(x: Tensor): O;
  /** forward on the image and the auxiliary inputs (methods with `auxiliaryInputs`; call it through methodForward) */
  forwardWith?(x: Tensor, aux: AuxiliaryInputs): O;
  losses(outputs: O, targets: MethodTargets): NamedLosses;
}

/**
 * A method's forward on the image and, for a method that reads more (CAT-Net), its auxiliary
 * inputs; the method refuses missing ones with its own error.
 */
export function methodForward<O extends MethodOutputs>(model: Pick<MethodModel<O>, 'forward' | 'forwardWith'>, x: Tensor, aux: AuxiliaryInputs = {}): O {
  return model.forwardWith === undefined ? model.forward(x) : model.forwardWith(x, aux);
}

/** One registry entry. */
export interface MethodDefinition {
  readonly name: MethodName;
  /** paper and the public code it reproduces */
  readonly source: string;
  readonly schema: z.ZodType;
  /**
   * State-dict prefixes that the MSCCNet paper's §5.1.3 adaptation adds to the official model
   * (an image head); an official checkpoint lacks exactly these.
   */
  readonly adaptationKeys: readonly string[];
  /** where an ImageNet backbone file (`model.pretrained`) lands; absent: the method has none, only whole checkpoints load */
  readonly backbone?: BackboneScope;
  /** the loss terms `losses` may return (its log keys), in the order its total sums them */
  readonly lossTerms: readonly string[];
  /** each term's weight in the method's own `total` under a validated config (a term left out weighs 1) */
  lossWeights?(config: object): Readonly<Record<string, number>>;
  /**
   * A method whose official weights are several checkpoints (HiFi-Net: FENet and SegNet): their
   * state dicts, in any order, joined under our names; refuses parts it cannot place.
   */
  joinCheckpoints?<T>(parts: readonly { source: string; tensors: ReadonlyMap<string, T> }[]): Map<string, T>;
  build(config: unknown): MethodModel;
}

export const METHOD_NAMES = ['msccnet', 'hpfcn', 'multitask', 'ffd', 'mvss', 'm2tr', 'sladd', 'catnet', 'hifinet'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

const PRETRAINED_SPEC = z.union([
  z.string(),
  z.strictObject({
    file: z.string(),
    from: z.enum(CONVERTER_NAMES).optional(),
    layersOnly: z.boolean().optional(),
  }),
]);

/**
 * `model.pretrained` of every method: initial weights for training, a file path or
 * { file, from, layersOnly }; `from` names the layout (default: detected from the keys).
 */
export function pretrainedField(official: string) {
  return PRETRAINED_SPEC.nullable()
    .default(null)
    .describe(`initial weights (training only): a .pth or .safetensors file, or { file, from: ${CONVERTER_NAMES.join('|')}, layersOnly }; ${official}`);
}

/** `model.pretrained` of a method whose official init loads several files (CAT-Net: the RGB and the DCT stream): one, or a list loaded in order. */
export function pretrainedListField(official: string) {
  return z
    .union([PRETRAINED_SPEC, z.array(PRETRAINED_SPEC).min(1)])
    .nullable()
    .default(null)
    .describe(`initial weights (training only): a file, { file, from, layersOnly }, or a list of them loaded in order; ${official}`);
}

/** Validates a config against a method's schema; a bad field becomes a ConfigError naming it. */
export function parseMethodConfig<S extends z.ZodType>(method: string, schema: S, input: unknown): z.output<S> {
  return parseWith(schema, input ?? {}, `fix the named fields; the defaults are ${method}'s official ones`, { prefix: `${method}.` });
}

/**
 * Two-class logits [B, 2, h, w] from one sigmoid logit z [B, 1, h, w]: [0, z], whose softmax is
 * exactly (1 − σ(z), σ(z)), so a method with a one-channel sigmoid mask (its official head and
 * weights kept) predicts the two-class mask of the benchmark and CE on it equals its BCE.
 */
export function sigmoidAsTwoClass(z: Tensor): Tensor {
  return torch.cat([z.mul(0), z], 1);
}

/** Per-term multipliers of a training config (`losses`), over the method's own weighting. */
export type LossMultipliers = Readonly<Record<string, number>>;

/**
 * The backpropagated objective: Σ m_k · w_k · term_k over the terms present, where w_k is the
 * term's weight in the method's own total and m_k the config's multiplier. With every multiplier
 * 1 it is the method's `total` itself, bit for bit.
 */
export function weightedTotal(
  losses: NamedLosses,
  def: Pick<MethodDefinition, 'lossTerms' | 'lossWeights'>,
  config: object,
  multipliers: LossMultipliers,
): Tensor {
  const present = def.lossTerms.filter((k) => losses[k] !== undefined);
  if (present.every((k) => (multipliers[k] ?? 1) === 1)) return losses.total;
  const weights = def.lossWeights?.(config) ?? {};
  let total: Tensor | null = null;
  for (const k of present) {
    const w = (multipliers[k] ?? 1) * (weights[k] ?? 1);
    const weighted = w === 1 ? losses[k] : losses[k].mul(w); // weight 1 keeps the term as it is
    total = total === null ? weighted : total.add(weighted);
  }
  return total ?? losses.total;
}
