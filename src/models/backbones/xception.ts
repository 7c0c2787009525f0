import type { Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential, type TensorModule } from '../../nn/index.js';
import type { Tap } from './resnet.js';

/**
 * Cadene's pretrainedmodels Xception, the layout FFD (JStehouwer/FFD_CVPR2020
 * `network/xception_map.py`) and SLADD (`networks/xception.py`, `TransferModel('xception')`)
 * build on. Field names and Sequential indices are the official state-dict keys:
 * `block4.rep.1.conv1.weight`, `block12.skipbn.running_mean`, … (FFD's later `xception.py`
 * renames `conv1` → `c` and `skipbn` → `skip_bn`; models/convert.ts maps that layout.)
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
  /** input channels (3; SLADD's synthesizer policy reads 6) */
  inChannels?: number;
}

/**
 * The Xception trunk (`conv1` … `bn4`): a method subclasses it and adds its heads after these
 * fields, so the state-dict order is the official one (trunk first). `features` runs it, with
 * an optional hook on the block7 output (FFD's attention map multiplies it there).
 */
export class Xception extends Module {
  readonly conv1: Conv2d;
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
    const { inChannels = 3 } = options;
    this.conv1 = new Conv2d(inChannels, 32, 3, { stride: 2, padding: 0, bias: false });
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

  /**
   * The official `features`: bn4's output, before the ReLU of `logits` [B, 2048, h/32, w/32].
   * `atBlock7` maps the block7 output to block8's input; `tap` sees `stem`, `block1` … `block12`
   * and `features`.
   */
  features(x: Tensor, opts: { atBlock7?: (h: Tensor) => Tensor; tap?: Tap } = {}): Tensor {
    const { atBlock7, tap } = opts;
    let h = this.bn1.forward(this.conv1.forward(x)).relu();
    h = this.bn2.forward(this.conv2.forward(h)).relu();
    tap?.('stem', h);
    const blocks = [
      this.block1,
      this.block2,
      this.block3,
      this.block4,
      this.block5,
      this.block6,
      this.block7,
      this.block8,
      this.block9,
      this.block10,
      this.block11,
      this.block12,
    ];
    blocks.forEach((block, i) => {
      h = block.forward(h);
      tap?.(`block${i + 1}`, h);
      if (i === 6 && atBlock7 !== undefined) h = atBlock7(h);
    });
    h = this.bn3.forward(this.conv3.forward(h)).relu();
    h = this.bn4.forward(this.conv4.forward(h));
    tap?.('features', h);
    return h;
  }
}
