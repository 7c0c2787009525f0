import { z } from 'zod';
import { F, torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Module, ReLU, Sequential, type TensorModule } from '../../nn/index.js';
import { IGNORE_INDEX } from '../msccnet/losses.js';
import type { Tap } from '../backbones/resnet.js';
import {
  IMAGENET_NORMALIZE,
  parseMethodConfig,
  pretrainedField,
  type MethodModel,
  type MethodOutputs,
  type MethodTargets,
  type NamedLosses,
  type Preprocessing,
} from '../method.js';

/** ClassNSeg's official defaults (`train.py`: imageSize 256, gamma 1, ImageNet Normalize). */
export const MultitaskConfigSchema = z.strictObject({
  inputSize: z.number().int().min(16).multipleOf(16).default(256).describe('square input side, a multiple of 16 (official 256)'),
  gamma: z.number().min(0).default(1).describe('weight of the segmentation and reconstruction losses (official --gamma 1)'),
  pretrained: pretrainedField('the official code trains from scratch (no ImageNet backbone), so only a whole checkpoint (from: official) loads'),
});
export type MultitaskConfig = z.output<typeof MultitaskConfigSchema>;

export interface MultitaskOutputs extends MethodOutputs {
  /** [B, 128, H/16, W/16] the encoder output (the latent the activation loss reads) */
  latent: Tensor;
  /** [B, 3, H, W] the reconstruction (tanh) from the latent selected by the predicted class */
  reconstruction: Tensor;
}

function convBnRelu(cin: number, cout: number, stride: 1 | 2): TensorModule[] {
  return [new Conv2d(cin, cout, 3, { stride, padding: 1 }), new BatchNorm2d(cout), new ReLU()];
}
function deconvBnRelu(cin: number, cout: number, stride: 1 | 2): TensorModule[] {
  return [new ConvTranspose2d(cin, cout, 3, { stride, padding: 1, outputPadding: stride - 1 }), new BatchNorm2d(cout), new ReLU()];
}

/**
 * The official `weights_init`, applied to the encoder and to the two decoder branches (not to
 * `shared`, which keeps PyTorch's default, as in the official code): conv and transposed-conv
 * weights N(0, 0.02²), BN weights N(0.5, 0.02²), BN biases 0.
 */
function classnsegInit(branch: Module): void {
  torch.noGrad(() => {
    for (const [, m] of branch.namedModules()) {
      if (m instanceof Conv2d || m instanceof ConvTranspose2d) m.weight.normal_(0, 0.02);
      else if (m instanceof BatchNorm2d) {
        m.weight?.normal_(0.5, 0.02);
        m.bias?.zero_();
      }
    }
  });
}

/** The official `Encoder` (keys `encoder.N.*`): 9 conv-BN-ReLU, 4 of them stride 2, to 128 channels. */
export class Encoder extends Module {
  readonly encoder: Sequential;
  constructor(depth = 3) {
    super();
    this.encoder = new Sequential(
      ...convBnRelu(depth, 8, 1),
      ...convBnRelu(8, 8, 2),
      ...convBnRelu(8, 16, 1),
      ...convBnRelu(16, 16, 2),
      ...convBnRelu(16, 32, 1),
      ...convBnRelu(32, 32, 2),
      ...convBnRelu(32, 64, 1),
      ...convBnRelu(64, 64, 2),
      ...convBnRelu(64, 128, 1),
    );
    classnsegInit(this.encoder);
  }
  /** `tap` sees every layer's output as `encoder.<index>`. */
  forward(x: Tensor, tap?: Tap): Tensor {
    return forwardTapped(this.encoder, x, 'encoder', tap);
  }
}

/**
 * The official Y-shaped `Decoder` (keys `shared.*`, `segmenter.*`, `decoder.*`): a shared
 * trunk, then a segmentation branch (its final `nn.Softmax` is left to the loss/consumer, so the
 * output here is the logits) and a reconstruction branch ending in tanh.
 */
export class Decoder extends Module {
  readonly shared: Sequential;
  readonly segmenter: Sequential;
  readonly decoder: Sequential;
  constructor(depth = 3) {
    super();
    this.shared = new Sequential(...deconvBnRelu(128, 64, 1), ...deconvBnRelu(64, 64, 2), ...deconvBnRelu(64, 32, 1), ...deconvBnRelu(32, 32, 2));
    const branch = (out: number) =>
      new Sequential(
        ...deconvBnRelu(32, 16, 1),
        ...deconvBnRelu(16, 16, 2),
        ...deconvBnRelu(16, 8, 1),
        ...deconvBnRelu(8, 8, 2),
        new ConvTranspose2d(8, out, 3, { stride: 1, padding: 1 }),
      );
    this.segmenter = branch(2);
    this.decoder = branch(depth);
    classnsegInit(this.segmenter);
    classnsegInit(this.decoder);
  }
  /** latent → { segmentation logits [B, 2, H, W], reconstruction [B, depth, H, W] }; `tap` sees `shared` and every layer as `<branch>.<index>`. */
  forward(latent: Tensor, tap?: Tap): { segLogits: Tensor; reconstruction: Tensor } {
    const shared = this.shared.forward(latent);
    tap?.('shared', shared);
    return { segLogits: forwardTapped(this.segmenter, shared, 'segmenter', tap), reconstruction: forwardTapped(this.decoder, shared, 'decoder', tap).tanh() };
  }
}

/** A Sequential run layer by layer, each output tapped as `<name>.<index>`. */
function forwardTapped(seq: Sequential, x: Tensor, name: string, tap?: Tap): Tensor {
  if (tap === undefined) return seq.forward(x);
  let h = x;
  for (let i = 0; i < seq.length; i++) {
    h = seq.at(i).forward(h);
    tap(`${name}.${i}`, h);
  }
  return h;
}

/** Mean |activation| of the two latent halves (official `zero`, `one`), [B] each. */
function activations(latent: Tensor): { zero: Tensor; one: Tensor } {
  const [B, C] = latent.shape;
  const half = (i: number) =>
    latent
      .narrow(1, i * (C / 2), C / 2)
      .abs()
      .reshape([B, -1])
      .mean(1);
  return { zero: half(0), one: half(1) };
}

/** The latent with the half of the other class zeroed (official `latent * eye(2)[label]`); sel [B] is 1 for fake. */
function selectHalf(latent: Tensor, sel: Tensor): Tensor {
  const [B, C, h, w] = latent.shape;
  const keep = torch.stack([sel.neg().add(1), sel], 1).reshape([B, 2, 1, 1, 1]);
  return latent
    .reshape([B, 2, C / 2, h, w])
    .mul(keep)
    .reshape([B, C, h, w]);
}

/**
 * Multi-task / ClassNSeg (Nguyen et al., BTAS 2019), `nii-yamagishilab/ClassNSeg`
 * `model/ae.py`: the latent's first half encodes real, the second fake; image logits are the two
 * halves' mean activations (the official `softmax(cat(zero, one))` score). The decoder sees the
 * latent with the other class's half zeroed: by the predicted class in `forward`, by the label in
 * `losses` (as the official training does), so training reproduces the official graph.
 */
export class Multitask extends Module implements MethodModel<MultitaskOutputs> {
  readonly methodName = 'multitask' as const;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly config: MultitaskConfig;
  constructor(input: unknown = {}) {
    super();
    this.config = parseMethodConfig('multitask', MultitaskConfigSchema, input);
    this.encoder = new Encoder(3);
    this.decoder = new Decoder(3);
  }

  get preprocessing(): Preprocessing {
    return { ...IMAGENET_NORMALIZE, inputSize: this.config.inputSize };
  }

  /** `tap` sees the encoder's and decoder's layers under their state-dict names (`encoder.encoder.2`, `decoder.shared`, …). */
  forward(x: Tensor, tap?: Tap): MultitaskOutputs {
    const latent = this.encoder.forward(x, tap && ((name, t) => tap(`encoder.${name}`, t)));
    const { zero, one } = activations(latent);
    const predictedFake = one.ge(zero).float(); // the official `one >= zero`
    const { segLogits, reconstruction } = this.decoder.forward(selectHalf(latent, predictedFake), tap && ((name, t) => tap(`decoder.${name}`, t)));
    return { imgLogits: torch.stack([zero, one], 1), maskLogits: segLogits, latent, reconstruction };
  }

  /**
   * The official terms: `act` = Σ_b |one − y| + |zero − (1 − y)| / B; `seg` = CE over the
   * softmax output (sic: the official loss applies CrossEntropyLoss to the Softmax layer's
   * output), ignored pixels left out; `rect` = MSE(reconstruction, input); total = act + γ(seg + rect).
   */
  losses(outputs: MultitaskOutputs, targets: MethodTargets): NamedLosses {
    const label = targets.label.float();
    const { zero, one } = activations(outputs.latent);
    const B = label.shape[0];
    const act = one
      .sub(label)
      .abs()
      .add(zero.sub(label.neg().add(1)).abs())
      .sum()
      .div(B);
    const { segLogits, reconstruction } = this.decoder.forward(selectHalf(outputs.latent, label));
    const seg = F.crossEntropy(segLogits.softmax(1), targets.segmentation.long(), { ignoreIndex: IGNORE_INDEX }).mul(this.config.gamma);
    const rect = reconstruction.sub(targets.image).pow(2).mean().mul(this.config.gamma);
    return { act, seg, rect, total: act.add(seg).add(rect) };
  }
}
