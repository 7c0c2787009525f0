import type { Tensor } from '../../torch/index.js';
import { Conv2d, Linear, Module } from '../../nn/index.js';

/**
 * GCN over the class centres (Eq. 11; official `GCN`, unspecified in the paper): the n group
 * nodes are mixed by a 1×1 conv that treats n as the channel axis, plus a residual and ReLU,
 * then a Linear(c → c) on the feature axis. No biases.
 */
export class GCN extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Linear;
  constructor(numNodes: number, numChannels: number) {
    super();
    this.conv1 = new Conv2d(numNodes, numNodes, 1, { bias: false });
    this.conv2 = new Linear(numChannels, numChannels, { bias: false });
  }
  /** centres [B, n, K, c] → refined centres [B, n, K, c]. */
  forward(centers: Tensor): Tensor {
    return this.conv2.forward(this.conv1.forward(centers).add(centers).relu());
  }
}
