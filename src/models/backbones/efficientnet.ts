import { ArgumentError } from '../../errors.js';
import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Dropout, Linear, Module, ModuleList, type Conv2dOptions } from '../../nn/index.js';

/**
 * EfficientNet as lukemelas/EfficientNet-PyTorch writes it, in the copy M2TR ships
 * (`M2TR/models/efficientnet.py`): field names are the state-dict keys of that code and of the
 * lukemelas release checkpoints (`_conv_stem.weight`, `_blocks.3._depthwise_conv.weight`,
 * `_blocks.3._se_reduce.bias`, `_bn1.running_var`, `_fc.weight`), BatchNorm ε 1e-3, momentum 0.01.
 */

/** (width, depth, native resolution, dropout) per model, efficientnet_params. */
const PARAMS = {
  'efficientnet-b0': [1.0, 1.0, 224, 0.2],
  'efficientnet-b1': [1.0, 1.1, 240, 0.2],
  'efficientnet-b2': [1.1, 1.2, 260, 0.3],
  'efficientnet-b3': [1.2, 1.4, 300, 0.3],
  'efficientnet-b4': [1.4, 1.8, 380, 0.4],
  'efficientnet-b5': [1.6, 2.2, 456, 0.4],
  'efficientnet-b6': [1.8, 2.6, 528, 0.5],
  'efficientnet-b7': [2.0, 3.1, 600, 0.5],
} as const;
export type EfficientNetName = keyof typeof PARAMS;
export const EFFICIENTNET_NAMES = Object.keys(PARAMS) as EfficientNetName[];

/** The b0 stages (blocks_args_str): kernel, repeats, stride, expand ratio, in, out; SE ratio 0.25 everywhere. */
const STAGES = [
  [3, 1, 1, 1, 32, 16],
  [3, 2, 2, 6, 16, 24],
  [5, 2, 2, 6, 24, 40],
  [3, 3, 2, 6, 40, 80],
  [5, 3, 1, 6, 80, 112],
  [5, 4, 2, 6, 112, 192],
  [3, 1, 1, 6, 192, 320],
] as const;
const SE_RATIO = 0.25;
const BN = { eps: 1e-3, momentum: 0.01 } as const; // batch_norm_momentum 0.99 → PyTorch momentum 1 − 0.99

/** round_filters: channels × width, to a multiple of 8, never more than 10 % below. */
function roundFilters(filters: number, width: number): number {
  const scaled = filters * width;
  let rounded = Math.max(8, Math.floor(Math.floor(scaled + 4) / 8) * 8);
  if (rounded < 0.9 * scaled) rounded += 8;
  return rounded;
}

/** round_repeats: ⌈repeats × depth⌉. */
function roundRepeats(repeats: number, depth: number): number {
  return Math.ceil(depth * repeats);
}

/** x·σ(x). */
export function swish(x: Tensor): Tensor {
  return x.mul(x.sigmoid());
}

/**
 * Conv2dStaticSamePadding: TF "same" padding computed once for a fixed `imageSize` (whatever
 * the feature map's size), as nn.ZeroPad2d(left, right, top, bottom) before an unpadded conv.
 * For even feature sides it is the "same" padding of that side too.
 */
export class Conv2dStaticSamePadding extends Conv2d {
  /** (left, right, top, bottom); null when symmetric (the conv pads itself) */
  readonly staticPadding: readonly [number, number, number, number] | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, imageSize: number, opts: Omit<Conv2dOptions, 'padding'> = {}) {
    const stride = typeof opts.stride === 'number' || opts.stride === undefined ? (opts.stride ?? 1) : opts.stride[0];
    const out = Math.ceil(imageSize / stride);
    const total = Math.max((out - 1) * stride + kernelSize - imageSize, 0);
    const [before, after] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    super(inChannels, outChannels, kernelSize, { ...opts, padding: before === after ? before : 0 });
    this.staticPadding = before === after ? null : [before, after, before, after];
  }
  override forward(x: Tensor): Tensor {
    return super.forward(this.staticPadding === null ? x : F.pad(x, this.staticPadding));
  }
}

/** One stage's block arguments after width/depth scaling. */
interface BlockArgs {
  kernel: number;
  stride: number;
  expandRatio: number;
  inputFilters: number;
  outputFilters: number;
}

/** Mobile inverted bottleneck: expand 1×1, depthwise k×k, squeeze-excitation, project 1×1, identity skip. */
export class MBConvBlock extends Module {
  readonly _expand_conv: Conv2dStaticSamePadding | null;
  readonly _bn0: BatchNorm2d | null;
  readonly _depthwise_conv: Conv2dStaticSamePadding;
  readonly _bn1: BatchNorm2d;
  readonly _se_reduce: Conv2dStaticSamePadding;
  readonly _se_expand: Conv2dStaticSamePadding;
  readonly _project_conv: Conv2dStaticSamePadding;
  readonly _bn2: BatchNorm2d;
  readonly skip: boolean;
  constructor(args: BlockArgs, imageSize: number) {
    super();
    const inp = args.inputFilters;
    const oup = inp * args.expandRatio;
    const expands = args.expandRatio !== 1;
    this._expand_conv = expands ? new Conv2dStaticSamePadding(inp, oup, 1, imageSize, { bias: false }) : null;
    this._bn0 = expands ? new BatchNorm2d(oup, BN) : null;
    this._depthwise_conv = new Conv2dStaticSamePadding(oup, oup, args.kernel, imageSize, { stride: args.stride, groups: oup, bias: false });
    this._bn1 = new BatchNorm2d(oup, BN);
    const squeezed = Math.max(1, Math.floor(inp * SE_RATIO));
    this._se_reduce = new Conv2dStaticSamePadding(oup, squeezed, 1, imageSize);
    this._se_expand = new Conv2dStaticSamePadding(squeezed, oup, 1, imageSize);
    this._project_conv = new Conv2dStaticSamePadding(oup, args.outputFilters, 1, imageSize, { bias: false });
    this._bn2 = new BatchNorm2d(args.outputFilters, BN);
    this.skip = args.stride === 1 && inp === args.outputFilters;
  }

  /** `dropConnect`: the drop-connect (stochastic depth) rate of this block, applied in training on the skip path. */
  forwardWith(inputs: Tensor, dropConnect: number): Tensor {
    let x = inputs;
    if (this._expand_conv !== null && this._bn0 !== null) x = swish(this._bn0.forward(this._expand_conv.forward(x)));
    x = swish(this._bn1.forward(this._depthwise_conv.forward(x)));
    const squeezed = this._se_expand.forward(swish(this._se_reduce.forward(F.adaptiveAvgPool2d(x, 1))));
    x = this._bn2.forward(this._project_conv.forward(squeezed.sigmoid().mul(x)));
    if (!this.skip) return x;
    if (dropConnect > 0 && this.training) {
      // drop_connect: keep a whole sample with probability 1 − p, scaled by 1/(1 − p)
      const keep = torch.rand([x.shape[0], 1, 1, 1], { device: x.device }).ge(dropConnect).to(x.dtype);
      x = x.div(1 - dropConnect).mul(keep);
    }
    return x.add(inputs);
  }
  forward(x: Tensor): Tensor {
    return this.forwardWith(x, 0);
  }
}

export interface EfficientNetOptions {
  /** efficientnet-b0 … b7 (default b4, M2TR's) */
  name?: EfficientNetName;
  /** the side the static "same" padding is computed for (default: the model's native resolution, 380 for b4, as M2TR's copy does for every conv) */
  imageSize?: number;
  /** `_fc` outputs (M2TR builds 2 and never uses them) */
  numClasses?: number;
  /** drop_connect_rate, scaled by block index / block count (0.2 in every official model) */
  dropConnectRate?: number;
}

/** EfficientNet: stem, MBConv blocks, 1×1 head conv, and the ImageNet classifier `_fc`. */
export class EfficientNet extends Module {
  readonly _conv_stem: Conv2dStaticSamePadding;
  readonly _bn0: BatchNorm2d;
  readonly _blocks: ModuleList<MBConvBlock>;
  readonly _conv_head: Conv2dStaticSamePadding;
  readonly _bn1: BatchNorm2d;
  readonly _dropout: Dropout;
  readonly _fc: Linear;
  readonly dropConnectRate: number;
  /** stage name (b1 … b7) of the block that ends each stage, by block index: M2TR's TEXTURE_LAYER names */
  readonly stageEnds: ReadonlyMap<string, number>;

  constructor(opts: EfficientNetOptions = {}) {
    super();
    const name = opts.name ?? 'efficientnet-b4';
    const params = PARAMS[name] as readonly number[] | undefined;
    if (params === undefined) throw new ArgumentError('name', `one of ${EFFICIENTNET_NAMES.join(', ')}`, name);
    const [width, depth, resolution, dropout] = params;
    const imageSize = opts.imageSize ?? resolution;
    this.dropConnectRate = opts.dropConnectRate ?? 0.2;
    const stem = roundFilters(32, width);
    this._conv_stem = new Conv2dStaticSamePadding(3, stem, 3, imageSize, { stride: 2, bias: false });
    this._bn0 = new BatchNorm2d(stem, BN);
    const blocks: MBConvBlock[] = [];
    const ends = new Map<string, number>();
    let last = stem;
    STAGES.forEach(([kernel, repeats, stride, expandRatio, inF, outF], stage) => {
      const args: BlockArgs = { kernel, stride, expandRatio, inputFilters: roundFilters(inF, width), outputFilters: roundFilters(outF, width) };
      const n = roundRepeats(repeats, depth);
      blocks.push(new MBConvBlock(args, imageSize));
      for (let i = 1; i < n; i++) blocks.push(new MBConvBlock({ ...args, inputFilters: args.outputFilters, stride: 1 }, imageSize));
      ends.set(`b${stage + 1}`, blocks.length - 1);
      last = args.outputFilters;
    });
    this._blocks = new ModuleList(blocks);
    this.stageEnds = ends;
    const head = roundFilters(1280, width);
    this._conv_head = new Conv2dStaticSamePadding(last, head, 1, imageSize, { bias: false });
    this._bn1 = new BatchNorm2d(head, BN);
    this._dropout = new Dropout(dropout);
    this._fc = new Linear(head, opts.numClasses ?? 1000);
  }

  /** Channels of the head's output (the pooled feature size: 1792 for b4). */
  get featureChannels(): number {
    return this._bn1.numFeatures;
  }

  /** Stem: `_conv_stem`, `_bn0`, Swish (`tap` sees `_bn0`'s output). */
  stem(x: Tensor, tap?: (name: string, t: Tensor) => void): Tensor {
    const bn = this._bn0.forward(this._conv_stem.forward(x));
    tap?.('_bn0', bn);
    return swish(bn);
  }

  /** `_blocks[start:end]`, each with drop-connect rate × index / block count, as extract_textures/extract_features. */
  blocks(x: Tensor, start: number, end = this._blocks.length): Tensor {
    let h = x;
    for (let i = start; i < end; i++) h = this._blocks.at(i).forwardWith(h, (this.dropConnectRate * i) / this._blocks.length);
    return h;
  }

  /** Head: `_conv_head`, `_bn1`, Swish (`tap` sees `_bn1`'s output). */
  head(x: Tensor, tap?: (name: string, t: Tensor) => void): Tensor {
    const bn = this._bn1.forward(this._conv_head.forward(x));
    tap?.('_bn1', bn);
    return swish(bn);
  }

  /** The ImageNet classifier: stem, blocks, head, global average pool, dropout, `_fc`. */
  forward(x: Tensor): Tensor {
    const h = this.head(this.blocks(this.stem(x), 0));
    return this._fc.forward(this._dropout.forward(F.adaptiveAvgPool2d(h, 1).flatten(1)));
  }
}
