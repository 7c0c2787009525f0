import { torch, type Tensor } from '../../torch/index.js';
import { Dropout, init, Linear, Module, Sequential } from '../../nn/index.js';
import { Xception } from '../backbones/xception.js';
import type { Buffer, Parameter } from '../../nn/index.js';
import { pooledFeatures } from './sladd.js';

/** The synthesizer's action space (`networks/synthesizer.py`): 10 regions, 4 blend types (3 = leave the image real), a magnitude. */
export const SLADD_REGIONS = 10;
export const SLADD_BLEND_TYPES = 4;
/** Blend type 3: the real image is kept as it is (`type[i] != 3` gates the forgery). */
export const SLADD_KEEP_REAL = 3;

/**
 * `xception_forsyn.py`'s Xception: the trunk on real ‖ fake (6 channels, first conv `iniconv`)
 * with region, type and magnitude heads, each Sequential(Dropout 0.5, Linear).
 */
export class PolicyXception extends Xception {
  readonly fc_region: Sequential;
  readonly fc_type: Sequential;
  readonly fc_mag: Sequential;
  constructor() {
    super({ inChannels: 6 });
    this.fc_region = new Sequential(new Dropout(0.5), new Linear(2048, SLADD_REGIONS));
    this.fc_type = new Sequential(new Dropout(0.5), new Linear(2048, SLADD_BLEND_TYPES));
    this.fc_mag = new Sequential(new Dropout(0.5), new Linear(2048, 1));
    // nn.init.xavier_normal(iniconv.weight, gain=0.02): std = gain·√(2 / (fan_in + fan_out))
    const w = this.conv1.weight;
    const [out, inc, kh, kw] = w.shape;
    torch.noGrad(() => init.normal_(w, 0, 0.02 * Math.sqrt(2 / (inc * kh * kw + out * kh * kw))));
  }
  /** `xception_forsyn.py` names the first conv `iniconv`: the trunk's conv1 under that key. */
  protected override entries(): [string, Parameter | Buffer | Module][] {
    return super.entries().map(([k, v]) => [k === 'conv1' ? 'iniconv' : k, v]);
  }
}

/** The policy's logits for one batch: region [B, 10], type [B, 4], magnitude [B, 1]. */
export interface PolicyLogits {
  region: Tensor;
  type: Tensor;
  mag: Tensor;
}

/**
 * `synthesizer.netG` = `TransferModel('xception', num_region=10, num_type=4, num_mag=1, inc=6)`:
 * state-dict keys under `model.` (280 entries), as the official `*_syn.pth` checkpoints.
 */
export class SladdPolicy extends Module {
  readonly model: PolicyXception;
  constructor() {
    super();
    this.model = new PolicyXception();
  }
  /** real, fake: [B, 3, H, W] in [−1, 1]. */
  forward(real: Tensor, fake: Tensor): PolicyLogits {
    const m = this.model;
    const fea = pooledFeatures(m.features(torch.cat([real, fake], 1)));
    return { region: m.fc_region.forward(fea), type: m.fc_type.forward(fea), mag: m.fc_mag.forward(fea) };
  }
}

/** The sampled actions and what REINFORCE needs of them. */
export interface PolicyActions {
  /** per image: region 0–9, blend type 0–3, magnitude in (0, 1) */
  region: number[];
  type: number[];
  mag: number[];
  /** [B] Σ of the three log-probabilities of the taken actions (differentiable) */
  logProb: Tensor;
  /** [B] Σ of the three entropies (differentiable) */
  entropy: Tensor;
}

/** Index k with P(k) from the cumulative probabilities and one uniform draw (torch.multinomial, one sample). */
function draw(probs: readonly number[], u: number): number {
  let acc = 0;
  for (let k = 0; k < probs.length; k++) {
    acc += probs[k];
    if (u < acc) return k;
  }
  return probs.length - 1;
}

/**
 * `synthesizer.calculate` on each head: softmax heads draw one action (multinomial), with log-prob
 * `log_softmax` at it and entropy −Σ p·log p; the magnitude head's action is σ(z) itself, with
 * log-prob log σ(z) and entropy −log σ(z)·σ(z). `rng` gives the uniform draws.
 */
export function sampleActions(logits: PolicyLogits, rng: () => number): PolicyActions {
  const categorical = (z: Tensor) => {
    const [B, K] = z.shape;
    const logP = z.logSoftmax(1);
    const p = logP.exp();
    const probs = p.toArray();
    const actions = Array.from({ length: B }, (_, i) => draw(probs.slice(i * K, i * K + K), rng()));
    const onehot = new Float32Array(B * K);
    actions.forEach((a, i) => (onehot[i * K + a] = 1));
    const taken = logP.mul(torch.tensor(onehot, [B, K])).sum(1);
    return { actions, logProb: taken, entropy: logP.mul(p).sum(1).neg() };
  };
  const region = categorical(logits.region);
  const type = categorical(logits.type);
  const [B] = logits.mag.shape;
  const sigma = logits.mag.sigmoid().reshape([B]);
  const logSigma = sigma.log();
  return {
    region: region.actions,
    type: type.actions,
    mag: sigma.toArray(),
    logProb: region.logProb.add(type.logProb).add(logSigma),
    entropy: region.entropy.add(type.entropy).add(logSigma.mul(sigma).neg()),
  };
}

/**
 * The official REINFORCE objective of the synthesizer (`Model.optimize`): mean(−log_prob · L) −
 * 1e-5 · mean(entropy), with L the detector's loss on the batch, detached (a reward, not a path).
 */
export function reinforceLoss(actions: Pick<PolicyActions, 'logProb' | 'entropy'>, detectorLoss: Tensor): Tensor {
  return actions.logProb.neg().mul(detectorLoss.detach()).mean().sub(actions.entropy.mean().mul(1e-5));
}
