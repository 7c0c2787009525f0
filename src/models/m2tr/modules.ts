import { F, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Dropout, LeakyReLU, Linear, Module, Sequential } from '../../nn/index.js';

/**
 * M2TR's small building blocks (`models/modules/`): FeedForward2D, Deconv, the classifier head
 * and the Localizer, with the official field names and Sequential indices.
 */

/** `FeedForward2D`: 3×3 conv (dilation 2) + BN + LeakyReLU(0.2), 3×3 conv + BN + LeakyReLU(0.2). */
export class FeedForward2D extends Module {
  readonly conv: Sequential;
  constructor(inChannels: number, outChannels: number) {
    super();
    this.conv = new Sequential(
      new Conv2d(inChannels, outChannels, 3, { padding: 2, dilation: 2 }),
      new BatchNorm2d(outChannels),
      new LeakyReLU(0.2),
      new Conv2d(outChannels, outChannels, 3, { padding: 1 }),
      new BatchNorm2d(outChannels),
      new LeakyReLU(0.2),
    );
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

/** `Deconv`: bilinear ×2 (align_corners True), k×k conv, LeakyReLU(0.2). */
export class Deconv extends Module {
  readonly conv: Conv2d;
  constructor(inChannels: number, outChannels: number, kernelSize = 3, padding = 0) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { padding });
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(this.conv.forward(F.interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: true })), 0.2);
  }
}

/**
 * `Classifier2D(dim, classes, dropout, 'sigmoid')`: dropout, `projection`. The official forward
 * applies its sigmoid in eval mode only; this one returns the projection (the logits the loss
 * sees in training) and leaves the sigmoid to the caller.
 */
export class Classifier2D extends Module {
  readonly dropout: Dropout;
  readonly projection: Linear;
  constructor(dimIn: number, numClasses: number, dropoutRate: number) {
    super();
    this.dropout = new Dropout(dropoutRate);
    this.projection = new Linear(dimIn, numClasses);
  }
  forward(x: Tensor): Tensor {
    return this.projection.forward(this.dropout.forward(x));
  }
}

/**
 * `Localizer(in_channel, 1)` with its constructor typo (`super(self, Localizer)`) fixed: at 80²
 * features, deconv1 80 → 160 → 158 (unpadded conv), conv1, deconv2 → 316, a second LeakyReLU
 * then a 3×3 conv to one channel. Returns the logit before the official sigmoid.
 */
export class Localizer extends Module {
  readonly deconv1: Deconv;
  readonly conv1: Sequential;
  readonly deconv2: Deconv;
  readonly conv2: Sequential;
  constructor(inChannels: number, outChannels: number) {
    super();
    const hidden = Math.floor(inChannels / 2);
    this.deconv1 = new Deconv(inChannels, inChannels);
    this.conv1 = new Sequential(new Conv2d(inChannels, hidden, 3, { padding: 1 }), new LeakyReLU(0.2)); // the official code writes 32: b4's texture channels
    this.deconv2 = new Deconv(hidden, hidden, 3, 1);
    this.conv2 = new Sequential(new LeakyReLU(0.2), new Conv2d(hidden, outChannels, 3, { padding: 1 }));
  }
  forward(x: Tensor, tap?: (name: string, t: Tensor) => void): Tensor {
    const d1 = this.deconv1.forward(x);
    tap?.('deconv1', d1);
    const d2 = this.deconv2.forward(this.conv1.forward(d1));
    tap?.('deconv2', d2);
    return this.conv2.forward(d2);
  }
}
