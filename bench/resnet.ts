/**
 * The benchmark's network: ResNet-50 "V1c" (deep 3×3 stem 32-32-64), output stride 8
 * (strides 1,2,1,1, dilations 1,1,2,4, the first block of a dilated stage at half dilation:
 * official-spec §2), with a 1×1 two-class head. For bench/torch.ts only; the model issue owns
 * src/models/backbones/resnet.ts.
 */
import { Tensor } from '../src/torch/index.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential } from '../src/nn/index.js';

const conv1x1 = (inp: number, out: number, stride = 1) => new Conv2d(inp, out, 1, { stride, bias: false });
const conv3x3 = (inp: number, out: number, stride = 1, dilation = 1) => new Conv2d(inp, out, 3, { stride, padding: dilation, dilation, bias: false });

export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride: number, dilation: number, downsample: Sequential | null) {
    super();
    this.conv1 = conv1x1(inplanes, planes);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes, stride, dilation);
    this.bn2 = new BatchNorm2d(planes);
    this.conv3 = conv1x1(planes, planes * 4);
    this.bn3 = new BatchNorm2d(planes * 4);
    this.downsample = downsample;
  }
  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu())).relu();
    return this.bn3
      .forward(this.conv3.forward(out))
      .add(this.downsample?.forward(x) ?? x)
      .relu();
  }
}

/** os8 table: per stage (stride, dilation); contract_dilation halves the first block's dilation. */
const OS8 = { strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4] } as const;

function makeLayer(inplanes: number, planes: number, blocks: number, stride: number, dilation: number): Sequential {
  const downsample = stride !== 1 || inplanes !== planes * 4 ? new Sequential(conv1x1(inplanes, planes * 4, stride), new BatchNorm2d(planes * 4)) : null;
  const first = dilation > 1 ? dilation / 2 : 1;
  const layers = [new Bottleneck(inplanes, planes, stride, first, downsample)];
  for (let i = 1; i < blocks; i++) layers.push(new Bottleneck(planes * 4, planes, 1, dilation, null));
  return new Sequential(...layers);
}

export class DilatedResNet50 extends Module {
  readonly stem: Sequential;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly head: Conv2d;
  constructor(numClasses = 2) {
    super();
    this.stem = new Sequential(
      conv3x3(3, 32, 2),
      new BatchNorm2d(32),
      new ReLU(),
      conv3x3(32, 32),
      new BatchNorm2d(32),
      new ReLU(),
      conv3x3(32, 64),
      new BatchNorm2d(64),
      new ReLU(),
    );
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const blocks = [3, 4, 6, 3];
    this.layer1 = makeLayer(64, 64, blocks[0], OS8.strides[0], OS8.dilations[0]);
    this.layer2 = makeLayer(256, 128, blocks[1], OS8.strides[1], OS8.dilations[1]);
    this.layer3 = makeLayer(512, 256, blocks[2], OS8.strides[2], OS8.dilations[2]);
    this.layer4 = makeLayer(1024, 512, blocks[3], OS8.strides[3], OS8.dilations[3]);
    this.head = new Conv2d(2048, numClasses, 1);
  }
  /** Logits at stride 8: [B, K, H/8, W/8]. */
  forward(x: Tensor): Tensor {
    const c1 = this.layer1.forward(this.maxpool.forward(this.stem.forward(x)));
    return this.head.forward(this.layer4.forward(this.layer3.forward(this.layer2.forward(c1))));
  }
}
