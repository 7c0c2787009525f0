/**
 * SLADD's official training inside `msccnet train --method sladd` (liangchen527/SLADD
 * `trainer/whole_model.py` `Model.optimize`): per step, the synthesizer's policy picks region,
 * blend type and magnitude for each real image, the forgery is built from the 68-point landmarks
 * of face-api's model (found on the step's own augmented images, so they follow the crop), the
 * detector trains on the synthesized fakes plus the dataset's samples (and their mirror images),
 * and REINFORCE updates the policy with the detector's loss as its reward. `model.detectorAlone:
 * true` turns all of this off (the method's own `losses` on the dataset alone).
 */
import { loadFaceDetector, type FaceDetector } from '../data/faces.js';
import { seededRandom, type FaceImage } from '../data/synthetic/index.js';
import type { MethodModel } from '../models/index.js';
import { SladdPolicy, sladdSynthesizerStep, type SLADD, type SladdConfig, type SladdPair } from '../models/sladd/index.js';
import { AdamW } from '../nn/index.js';
import { ConfigError } from '../errors.js';
import type { Device } from '../torch/index.js';
import { DatasetError } from '../samples/errors.js';
import { hashKey } from '../samples/rng.js';
import type { TrainBatch } from '../samples/loader.js';
import type { Optimizer } from '../nn/index.js';
import type { TrainConfig } from './config.js';
import type { CheckpointCompanion } from './checkpoint.js';

/** The official synthesizer optimiser's learning rate is the detector's over 4 (`optim.Adam(..., lr=opt.lr/4)`). */
export const SLADD_POLICY_LR_RATIO = 0.25;

/** The detector trains with the synthesizer: method sladd without `model.detectorAlone`. */
export function usesSladdSynthesizer(config: TrainConfig): boolean {
  return config.method === 'sladd' && !(config.model as Partial<SladdConfig>).detectorAlone;
}

const DETECTOR_ALONE = 'or set model.detectorAlone=true (--set model.detectorAlone=true) to train the detector alone on the dataset masks';

/** The policy network beside the detector, its optimiser and the landmark model. */
export class SladdSynthesis {
  /** the images of this run's first batch had a face: checked once, then a batch without one trains on the dataset samples alone */
  private sawFace = false;

  private constructor(
    readonly policy: SladdPolicy,
    readonly optimizer: AdamW,
    private readonly faces: FaceDetector,
    private readonly device: Device,
    private readonly seed: number,
  ) {}

  /**
   * Builds the policy (on `device`) and its optimiser: Adam at the detector's rate / 4 with the
   * run's betas and weight decay (decoupled here, AdamW), following the detector's schedule.
   * Refuses what the official step has no counterpart for, each with a one-line error.
   */
  static async open(config: TrainConfig, device: Device, plan: { world: number; micro: number; localBatch: number }): Promise<SladdSynthesis> {
    const problems: string[] = [];
    if (plan.world > 1) problems.push(`distributed: ${plan.world} processes (SLADD's synthesizer step runs in one process)`);
    if (plan.micro < plan.localBatch) problems.push(`microBatch: ${plan.micro} (the synthesizer forges and steps on the whole batch at once)`);
    if (config.precision !== 'fp32') problems.push(`precision: ${config.precision} (the synthesizer step runs in fp32)`);
    const scaled = Object.entries(config.losses).filter(([, v]) => v !== 1);
    if (scaled.length > 0) problems.push(`losses: ${scaled.map(([k, v]) => `${k}=${v}`).join(', ')} (the policy's reward is the official loss, unscaled)`);
    if (problems.length > 0) throw new ConfigError(problems, `train SLADD's synthesizer in one fp32 process without these, ${DETECTOR_ALONE}`);
    const policy = new SladdPolicy();
    policy.to(device);
    const o = config.optim;
    const optimizer = new AdamW(policy.parameters(), { lr: o.lr * SLADD_POLICY_LR_RATIO, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
    return new SladdSynthesis(policy, optimizer, await loadFaceDetector(), device, config.seed);
  }

  /** What a checkpoint stores beside the detector, so a resume continues the policy too. */
  get companion(): CheckpointCompanion {
    return { name: 'synthesizer', model: this.policy, optimizer: this.optimizer };
  }

  /**
   * One `Model.optimize` step on the batch (uint8 faces recovered from the [−1, 1] inputs):
   * returns the detector's loss terms and the policy's REINFORCE loss (`synthesizer`).
   */
  async step(
    detector: MethodModel,
    detectorOptimizer: Optimizer<{ lr: number }>,
    batch: TrainBatch,
    lr: number,
    step: number,
    rank: number,
  ): Promise<Record<string, number>> {
    this.optimizer.lr = lr * SLADD_POLICY_LR_RATIO;
    const S = batch.size;
    const n = S * S;
    const { mean, std } = detector.preprocessing;
    const faces: FaceImage[] = [];
    for (let b = 0; b < batch.count; b++) {
      const data = new Uint8Array(3 * n);
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < n; i++) data[i * 3 + c] = Math.min(255, Math.max(0, Math.round(batch.images[(b * 3 + c) * n + i] * std[c] + mean[c])));
      const found = await this.faces.detect(data, S, S);
      faces.push({ image: { width: S, height: S, data }, landmarks: found[0]?.landmarks ?? [] });
    }
    const withFace = faces.flatMap((f, i) => (f.landmarks.length === 68 ? [i] : []));
    if (!this.sawFace && withFace.length === 0) {
      throw new DatasetError(
        `face-api's 68-point landmark model found no face in any of the ${batch.count} images of the first batch (${S}² crops): SLADD's synthesizer forges from landmarks`,
        `train on face crops of at least 128² (model.inputSize / data.cropSize), ${DETECTOR_ALONE}`,
      );
    }
    this.sawFace = true;
    const pairs = faces.map((real, i): SladdPair => {
      // the fake partner (official: a fake frame of the same video): the next image with a face, a fake one first
      const order = [...withFace.filter((j) => j > i), ...withFace.filter((j) => j < i)];
      const partner = order.find((j) => batch.labels[j] === 1) ?? order[0] ?? i;
      return {
        real,
        fake: real.landmarks.length === 68 ? faces[partner] : null,
        label: batch.labels[i] === 1 ? 1 : 0,
        // the data mask, ignored pixels (255) read as real
        mask: Uint8Array.from(batch.targets.subarray(i * n, (i + 1) * n), (v) => (v === 1 ? 1 : 0)),
      };
    });
    this.policy.train();
    const result = await sladdSynthesizerStep(
      detector as SLADD,
      this.policy,
      pairs,
      { detector: detectorOptimizer, policy: this.optimizer },
      seededRandom(hashKey([this.seed, step, rank, 0x51add])),
      this.device,
    );
    return { ...result.losses, synthesizer: result.synthesizerLoss };
  }
}
