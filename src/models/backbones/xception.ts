import type { Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential, type TensorModule } from '../../nn/index.js';

/**
 * FFD's Xception (JStehouwer/FFD_CVPR2020 `network/xception_map.py`, after Cadene's
 * pretrainedmodels Xception). Field names and Sequential indices are the official state-dict keys:
 * `block4.rep.1.conv1.weight`, `block12.skipbn.running_mean`, …
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
