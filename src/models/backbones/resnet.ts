import type { Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential, type BatchNormOptions, type TensorModule } from '../../nn/index.js';

/**
 * Receives named intermediate tensors during a forward pass (parity tests, `--check-detfill`).
 * Read or clone them inside the callback: the module's scope frees the ones it does not return.
 */
export type Tap = (name: string, value: Tensor) => void;

/** conv3x3 without bias; padding = dilation keeps the size at stride 1. */
export function conv3x3(inChannels: number, outChannels: number, stride = 1, dilation = 1): Conv2d {
  return new Conv2d(inChannels, outChannels, 3, { stride, padding: dilation, dilation, bias: false });
}

/** conv1x1 without bias. */
export function conv1x1(inChannels: number, outChannels: number, stride = 1): Conv2d {
  return new Conv2d(inChannels, outChannels, 1, { stride, padding: 0, bias: false });
}

/** A residual block of either kind: its last conv is the one detfill scales by ½. */
export interface ResidualBlock extends TensorModule {
  readonly lastConv: Conv2d;
}

/**
 * SSSegmentation's BasicBlock (ResNet-18/34): the stride and dilation sit on conv1; conv2 is a
 * plain 3×3 (dilation 1), as in the reference code.
 */
export class BasicBlock extends Module implements ResidualBlock {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  /** `norm`: options of every BatchNorm of the block (HRNet's momentum 0.01). */
  constructor(inplanes: number, planes: number, stride = 1, dilation = 1, downsample: Sequential | null = null, norm: BatchNormOptions = {}) {
    super();
    this.conv1 = conv3x3(inplanes, planes, stride, dilation);
    this.bn1 = new BatchNorm2d(planes, norm);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes, norm);
    this.downsample = downsample;
  }
  get lastConv(): Conv2d {
    return this.conv2;
  }
  forward(x: Tensor): Tensor {
    const out = this.bn1.forward(this.conv1.forward(x)).relu();
    return this.bn2
      .forward(this.conv2.forward(out))
      .add(this.downsample?.forward(x) ?? x)
      .relu();
  }
}

/** torchvision "V1b" Bottleneck (ResNet-50/101): the stride and dilation sit on the 3×3 conv2. */
export class Bottleneck extends Module implements ResidualBlock {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;
  /** `norm`: as BasicBlock's. */
  constructor(inplanes: number, planes: number, stride = 1, dilation = 1, downsample: Sequential | null = null, norm: BatchNormOptions = {}) {
    super();
    this.conv1 = conv1x1(inplanes, planes);
    this.bn1 = new BatchNorm2d(planes, norm);
    this.conv2 = conv3x3(planes, planes, stride, dilation);
    this.bn2 = new BatchNorm2d(planes, norm);
    this.conv3 = conv1x1(planes, planes * Bottleneck.expansion);
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion, norm);
    this.downsample = downsample; // keys downsample.0 (1×1 conv), downsample.1 (BN)
  }
  get lastConv(): Conv2d {
    return this.conv3;
  }
  forward(x: Tensor): Tensor {
    const out = this.bn1.forward(this.conv1.forward(x)).relu();
    const mid = this.bn2.forward(this.conv2.forward(out)).relu();
    return this.bn3
      .forward(this.conv3.forward(mid))
      .add(this.downsample?.forward(x) ?? x)
      .relu();
  }
}

export type ResNetDepth = 18 | 34 | 50 | 101;
export type OutputStride = 8 | 16;

const ARCH: Record<ResNetDepth, { block: 'basic' | 'bottleneck'; blocks: readonly [number, number, number, number] }> = {
  18: { block: 'basic', blocks: [2, 2, 2, 2] },
  34: { block: 'basic', blocks: [3, 4, 6, 3] },
  50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
  101: { block: 'bottleneck', blocks: [3, 4, 23, 3] },
};

/** SSSegmentation's table: output stride → per-stage (strides, dilations). */
const STRIDES_DILATIONS: Record<OutputStride, { strides: readonly number[]; dilations: readonly number[] }> = {
  8: { strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4] },
  16: { strides: [1, 2, 2, 1], dilations: [1, 1, 1, 2] },
};

export interface ResNetOptions {
  depth?: ResNetDepth;
  outputStride?: OutputStride;
  /** Halve the dilation of the first block of a dilated stage (SSSegmentation's default). */
  contractDilation?: boolean;
  inChannels?: number;
  baseChannels?: number;
  stemChannels?: number;
  /**
   * Deep 3×3 stem `stem.{0…7}` (V1c, the official default); false: torchvision's single 7×7
   * `conv1`/`bn1` with stemChannels outputs (official BuildResNet `use_stem`).
   */
  useStem?: boolean;
}

/**
 * ResNet "V1c" (timm's c: deep 3×3 stem 32-32-64 instead of the 7×7 conv), dilated to output
 * stride 8 or 16 as in SSSegmentation, returning all four stages. Keys follow the official
 * state dict: `stem.{0,1,3,4,6,7}`, `layer3.4.conv2.weight`, `layer2.0.downsample.{0,1}`.
 */
export class ResNet extends Module {
  readonly conv1: Conv2d | null;
  readonly bn1: BatchNorm2d | null;
  readonly stem: Sequential | null;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  /** Channels of layer1..layer4. */
  readonly stageChannels: readonly [number, number, number, number];
  readonly depth: ResNetDepth;
  readonly outputStride: OutputStride;

  constructor(options: ResNetOptions = {}) {
    super();
    const { depth = 50, outputStride = 8, contractDilation = true, inChannels = 3, baseChannels = 64, stemChannels = 64, useStem = true } = options;
    this.depth = depth;
    this.outputStride = outputStride;
    const { block, blocks } = ARCH[depth];
    const expansion = block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
    const { strides, dilations } = STRIDES_DILATIONS[outputStride];
    const half = stemChannels / 2;
    if (useStem) {
      this.conv1 = null;
      this.bn1 = null;
      this.stem = new Sequential(
        new Conv2d(inChannels, half, 3, { stride: 2, padding: 1, bias: false }),
        new BatchNorm2d(half),
        new ReLU(),
        new Conv2d(half, half, 3, { stride: 1, padding: 1, bias: false }),
        new BatchNorm2d(half),
        new ReLU(),
        new Conv2d(half, stemChannels, 3, { stride: 1, padding: 1, bias: false }),
        new BatchNorm2d(stemChannels),
        new ReLU(),
      );
    } else {
      this.conv1 = new Conv2d(inChannels, stemChannels, 7, { stride: 2, padding: 3, bias: false });
      this.bn1 = new BatchNorm2d(stemChannels);
      this.stem = null;
    }
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const planes = [1, 2, 4, 8].map((m) => baseChannels * m);
    const layers: Sequential[] = [];
    let inplanes = stemChannels;
    for (let s = 0; s < 4; s++) {
      layers.push(makeLayer(block, inplanes, planes[s], blocks[s], strides[s], dilations[s], contractDilation));
      inplanes = planes[s] * expansion;
    }
    [this.layer1, this.layer2, this.layer3, this.layer4] = layers;
    this.stageChannels = [planes[0] * expansion, planes[1] * expansion, planes[2] * expansion, planes[3] * expansion];
  }

  /** [C1, C2, C3, C4]; `tap` sees `stem` (before the max-pool), `maxpool`, `layer1`…`layer4`. */
  forward(x: Tensor, tap?: Tap): [Tensor, Tensor, Tensor, Tensor] {
    const stem = this.stem?.forward(x) ?? this.bn1!.forward(this.conv1!.forward(x)).relu();
    tap?.('stem', stem);
    const pooled = this.maxpool.forward(stem);
    tap?.('maxpool', pooled);
    const c1 = this.layer1.forward(pooled);
    tap?.('layer1', c1);
    const c2 = this.layer2.forward(c1);
    tap?.('layer2', c2);
    const c3 = this.layer3.forward(c2);
    tap?.('layer3', c3);
    const c4 = this.layer4.forward(c3);
    tap?.('layer4', c4);
    return [c1, c2, c3, c4];
  }
}

/** A numbered stage; the first block of a dilated stage runs at half dilation (`contract_dilation`). */
function makeLayer(
  block: 'basic' | 'bottleneck',
  inplanes: number,
  planes: number,
  count: number,
  stride: number,
  dilation: number,
  contractDilation: boolean,
): Sequential {
  const Block = block === 'basic' ? BasicBlock : Bottleneck;
  const out = planes * Block.expansion;
  const downsample = stride !== 1 || inplanes !== out ? new Sequential(conv1x1(inplanes, out, stride), new BatchNorm2d(out)) : null;
  const first = contractDilation && dilation > 1 ? dilation / 2 : dilation;
  const blocks: ResidualBlock[] = [new Block(inplanes, planes, stride, first, downsample)];
  for (let i = 1; i < count; i++) blocks.push(new Block(out, planes, 1, dilation));
  return new Sequential(...blocks);
}
