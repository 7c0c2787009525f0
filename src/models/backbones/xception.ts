import { F, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential, type TensorModule } from '../../nn/index.js';

/**
 * Cadene's pretrainedmodels Xception, as FFD (JStehouwer/FFD_CVPR2020 `network/xception_map.py`)
 * and SLADD (liangchen527/SLADD `networks/xception.py`) build it. Field names and Sequential
 * indices are the official state-dict keys: `block4.rep.1.conv1.weight`, `block12.skipbn.running_mean`, …
 */

/** Depthwise k×k conv then pointwise 1×1 (keys `conv1`, `pointwise`). */
export class SeparableConv2d extends Module {
  readonly conv1: Conv2d;
  readonly pointwise: Conv2d;
  constructor(inChannels: number, outChannels: number, kernel = 1, stride = 1, padding = 0, bias = false) {
    super();
    this.conv1 = new Conv2d(inChannels, inChannels, kernel, { stride, padding, groups: inChannels, bias });
    this.pointwise = new Conv2d(inChannels, outChannels, 1, { bias });
  }
  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.conv1.forward(x));
  }
}

/**
 * The official `Block`: `rep` = [ReLU, SepConv, BN]×reps (ReLUs keep their Sequential indices,
 * so the keys skip them), a 3×3/s max-pool when strided, and a 1×1 conv + BN skip when the shape
 * changes.
 */
export class XceptionBlock extends Module {
  readonly skip: Conv2d | null;
  readonly skipbn: BatchNorm2d | null;
  readonly rep: Sequential;
  constructor(inFilters: number, outFilters: number, reps: number, strides = 1, startWithRelu = true, growFirst = true) {
    super();
    const reshaped = outFilters !== inFilters || strides !== 1;
    this.skip = reshaped ? new Conv2d(inFilters, outFilters, 1, { stride: strides, bias: false }) : null;
    this.skipbn = reshaped ? new BatchNorm2d(outFilters) : null;
    const rep: TensorModule[] = [];
    const unit = (cin: number, cout: number) => rep.push(new ReLU(), new SeparableConv2d(cin, cout, 3, 1, 1), new BatchNorm2d(cout));
    let filters = inFilters;
    if (growFirst) {
      unit(inFilters, outFilters);
      filters = outFilters;
    }
    for (let i = 0; i < reps - 1; i++) unit(filters, filters);
    if (!growFirst) unit(inFilters, outFilters);
    if (!startWithRelu) rep.shift();
    if (strides !== 1) rep.push(new MaxPool2d(3, { stride: strides, padding: 1 }));
    this.rep = new Sequential(...rep);
  }
  forward(x: Tensor): Tensor {
    const skip = this.skip === null || this.skipbn === null ? x : this.skipbn.forward(this.skip.forward(x));
    return this.rep.forward(x).add(skip);
  }
}

export interface XceptionOptions {
  /** channels of the first conv (SLADD's synthesizer policy takes real ‖ fake: 6) */
  inChannels?: number;
  /** the first conv's field: `conv1` (Cadene), `iniconv` (SLADD `xception_forsyn.py`) */
  stem?: 'conv1' | 'iniconv';
}

/**
 * The Xception trunk without a classifier: entry flow (conv1/bn1, conv2/bn2, block1–3), middle
 * flow (block4–11) and exit flow (block12, conv3/bn3, conv4/bn4). Heads are subclass fields, so
 * their keys follow the trunk's, as in the official state dicts.
 */
export class Xception extends Module {
  // one of the two is null (skipped by Module), so the stem's key comes first under either name
  readonly iniconv: Conv2d | null;
  readonly conv1: Conv2d | null;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly block1: XceptionBlock;
  readonly block2: XceptionBlock;
  readonly block3: XceptionBlock;
  readonly block4: XceptionBlock;
  readonly block5: XceptionBlock;
  readonly block6: XceptionBlock;
  readonly block7: XceptionBlock;
  readonly block8: XceptionBlock;
  readonly block9: XceptionBlock;
  readonly block10: XceptionBlock;
  readonly block11: XceptionBlock;
  readonly block12: XceptionBlock;
  readonly conv3: SeparableConv2d;
  readonly bn3: BatchNorm2d;
  readonly conv4: SeparableConv2d;
  readonly bn4: BatchNorm2d;

  constructor(options: XceptionOptions = {}) {
    super();
    const stem = new Conv2d(options.inChannels ?? 3, 32, 3, { stride: 2, padding: 0, bias: false });
    this.iniconv = options.stem === 'iniconv' ? stem : null;
    this.conv1 = options.stem === 'iniconv' ? null : stem;
    this.bn1 = new BatchNorm2d(32);
    this.conv2 = new Conv2d(32, 64, 3, { bias: false });
    this.bn2 = new BatchNorm2d(64);
    this.block1 = new XceptionBlock(64, 128, 2, 2, false, true);
    this.block2 = new XceptionBlock(128, 256, 2, 2, true, true);
    this.block3 = new XceptionBlock(256, 728, 2, 2, true, true);
    [this.block4, this.block5, this.block6, this.block7, this.block8, this.block9, this.block10, this.block11] = Array.from(
      { length: 8 },
      () => new XceptionBlock(728, 728, 3, 1, true, true),
    );
    this.block12 = new XceptionBlock(728, 1024, 2, 2, true, false);
    this.conv3 = new SeparableConv2d(1024, 1536, 3, 1, 1);
    this.bn3 = new BatchNorm2d(1536);
    this.conv4 = new SeparableConv2d(1536, 2048, 3, 1, 1);
    this.bn4 = new BatchNorm2d(2048);
  }

  /** `fea_part1`–`fea_part3`: the stem and blocks 1–7 (stride 16, 728 channels). */
  entryFlow(x: Tensor): Tensor {
    const stem = (this.conv1 ?? this.iniconv) as Conv2d;
    let h = this.bn1.forward(stem.forward(x)).relu();
    h = this.bn2.forward(this.conv2.forward(h)).relu();
    for (const b of [this.block1, this.block2, this.block3, this.block4, this.block5, this.block6, this.block7]) h = b.forward(h);
    return h;
  }

  /** `fea_part4`, `fea_part5`: blocks 8–12, conv3/bn3/ReLU, conv4/bn4 (before the last ReLU). */
  exitFlow(h: Tensor): Tensor {
    let x = h;
    for (const b of [this.block8, this.block9, this.block10, this.block11, this.block12]) x = b.forward(x);
    x = this.bn3.forward(this.conv3.forward(x)).relu();
    return this.bn4.forward(this.conv4.forward(x));
  }

  /** ReLU, global average pool, flatten: the 2048-d feature the heads read. */
  static pooled(features: Tensor): Tensor {
    const [B, C] = features.shape;
    return F.adaptiveAvgPool2d(features.relu(), [1, 1]).reshape([B, C]);
  }
}
