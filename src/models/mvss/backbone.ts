import { F, torch, type Tensor } from '../../torch/index.js';
import { kaimingNormal_ } from '../../nn/init.js';
import { BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, Sequential } from '../../nn/index.js';
import { Bottleneck, conv1x1, type Tap } from '../backbones/resnet.js';

/**
 * MVSS-Net's ResNet-50 (`models/mvssnet.py` `ResNet`): torchvision's layout (7×7 stem, keys
 * `conv1`, `bn1`, `layer1…4`, `fc`), layer4 at stride 1 with the DeepLabV3 rates 1, 2, 4 of
 * `_make_deeplabv3_layer` (output stride 16). `fc` (2048 → 1000) is unused, as in the official
 * model, and kept so the released checkpoints load strictly.
 */
export class MvssResNet50 extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly fc: Linear;
  constructor(inChannels = 3) {
    super();
    this.conv1 = new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = stage(64, 64, 3, 1, [1, 1, 1]);
    this.layer2 = stage(256, 128, 4, 2, [1, 1, 1, 1]);
    this.layer3 = stage(512, 256, 6, 2, [1, 1, 1, 1, 1, 1]);
    this.layer4 = stage(1024, 512, 3, 1, [1, 2, 4]);
    this.fc = new Linear(2048, 1000);
    torch.noGrad(() => {
      // the official ResNet.__init__: convs kaiming_normal (fan_out, relu); BN 1/0 (the default)
      for (const [, m] of this.namedModules()) if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    });
  }
  /** `base_forward`: [c1, c2, c3, c4] at strides 4, 8, 16, 16; `tap` sees `stem` (after the max-pool) and `c1` … `c4`. */
  forward(x: Tensor, tap?: Tap): [Tensor, Tensor, Tensor, Tensor] {
    const stem = this.maxpool.forward(this.bn1.forward(this.conv1.forward(x)).relu());
    tap?.('stem', stem);
    const c1 = this.layer1.forward(stem);
    const c2 = this.layer2.forward(c1);
    const c3 = this.layer3.forward(c2);
    const c4 = this.layer4.forward(c3);
    [c1, c2, c3, c4].forEach((c, i) => tap?.(`c${i + 1}`, c));
    return [c1, c2, c3, c4];
  }
}

function stage(inplanes: number, planes: number, blocks: number, stride: number, rates: readonly number[]): Sequential {
  const out = planes * Bottleneck.expansion;
  const downsample = stride !== 1 || inplanes !== out ? new Sequential(conv1x1(inplanes, out, stride), new BatchNorm2d(out)) : null;
  const list = [new Bottleneck(inplanes, planes, stride, rates[0], downsample)];
  for (let i = 1; i < blocks; i++) list.push(new Bottleneck(out, planes, 1, rates[i]));
  return new Sequential(...list);
}

/** Global average of C4 → Linear(2048 → 2): the image head the MSCCNet paper (§5.1.3) adds. */
export class ImageHead extends Module {
  readonly fc: Linear;
  constructor(inChannels: number) {
    super();
    this.fc = new Linear(inChannels, 2);
  }
  forward(c4: Tensor): Tensor {
    const [B, C] = c4.shape;
    return this.fc.forward(F.adaptiveAvgPool2d(c4, [1, 1]).reshape([B, C]));
  }
}
