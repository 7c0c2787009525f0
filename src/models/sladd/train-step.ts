import { batchToDevice, torch, type Device, type Tensor } from '../../torch/index.js';
import { sladdForgery, type FaceImage } from '../../data/synthetic/index.js';
import { cubicResizeMatrix } from '../../image/index.js';
import { resizeCubic } from '../../image/preprocess.js';
import { sladdLosses, SLADD_TYPE_FAKE, SLADD_TYPE_REAL, type SLADD, type SladdOutputs } from './sladd.js';
import { reinforceLoss, sampleActions, SLADD_KEEP_REAL, type SladdPolicy } from './synthesizer.js';

/** The two calls of an optimiser this step makes. */
export interface StepOptimizer {
  zeroGrad(): void;
  step(): void;
}

/**
 * One training pair of `FFdata.py`: a real frame and a fake frame of the same video pair, with
 * their 68 landmarks. `fake` null: no landmarks for `real` (no face found); the policy then sees
 * `real` twice and the pair is never forged.
 */
export interface SladdPair {
  real: FaceImage;
  fake: FaceImage | null;
  /** 1 when `real` is itself a fake sample of the data (the official batch mixes both); it is then never re-forged */
  label: 0 | 1;
  /** the data's mask of `real` (0/1 per pixel, row-major); all 0 for a real frame */
  mask: Uint8Array;
}

/** Interleaved uint8 RGB images → [B, 3, H, W] in [−1, 1] (ToTensor, Normalize(0.5, 0.5)), optionally mirrored left–right. */
function toInput(images: readonly Uint8Array[], w: number, h: number, mirror: boolean): Tensor {
  const n = w * h;
  const out = new Float32Array(images.length * 3 * n);
  images.forEach((img, b) => {
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const src = (y * w + (mirror ? w - 1 - x : x)) * 3;
        for (let c = 0; c < 3; c++) out[b * 3 * n + c * n + y * w + x] = (img[src + c] / 255 - 0.5) / 0.5;
      }
  });
  return torch.tensor(out, [images.length, 3, h, w]);
}

/**
 * The map targets [B, 1, mh, mw], optionally mirrored: `cv2.resize(mask, (mw, mh), INTER_CUBIC)`,
 * on the uint8 mask for a forgery (its `tgt_mask`, rounded to uint8 as cv2 does) and on the float
 * mask for a data frame (`real_mask`).
 */
function toMaskTargets(masks: readonly { mask: Uint8Array; forged: boolean }[], w: number, h: number, mh: number, mw: number, mirror: boolean): Tensor {
  const out = new Float32Array(masks.length * mh * mw);
  const rows = cubicResizeMatrix(h, mh);
  const cols = cubicResizeMatrix(w, mw);
  masks.forEach(({ mask, forged }, b) => {
    let small: ArrayLike<number>;
    if (forged) small = resizeCubic(mask, w, h, 1, mw, mh);
    else {
      const f = new Float32Array(mh * mw);
      for (let y = 0; y < mh; y++)
        for (let x = 0; x < mw; x++) {
          let v = 0;
          for (let i = 0; i < h; i++) {
            const r = rows[y * h + i];
            if (r === 0) continue;
            for (let j = 0; j < w; j++) v += r * mask[i * w + j] * cols[x * w + j];
          }
          f[y * mw + x] = v;
        }
      small = f;
    }
    for (let y = 0; y < mh; y++) for (let x = 0; x < mw; x++) out[b * mh * mw + y * mw + x] = small[y * mw + (mirror ? mw - 1 - x : x)];
  });
  return torch.tensor(out, [masks.length, 1, mh, mw]);
}

/** What one synthesizer step did: the detector's loss terms and the actions taken. */
export interface SladdStepResult {
  losses: Record<string, number>;
  synthesizerLoss: number;
  /** per pair: the detector's label and type label after the synthesizer acted */
  labels: number[];
  typeLabels: number[];
  region: number[];
  type: number[];
  mag: number[];
}

/**
 * `Model.optimize` with the synthesizer: the policy picks region, blend type and magnitude per
 * pair; real images with type ≠ 3 are forged (label 1, type label = the blend, the magnitude
 * supervised on type 2); the batch is doubled by its mirror image; the detector takes a step on
 * the official loss, then the policy a REINFORCE step with that loss as its reward.
 */
export async function sladdSynthesizerStep(
  detector: SLADD,
  policy: SladdPolicy,
  pairs: readonly SladdPair[],
  optimizers: { detector: StepOptimizer; policy: StepOptimizer },
  rng: () => number,
  device: Device = 'cpu',
): Promise<SladdStepResult> {
  const { width: w, height: h } = pairs[0].real.image;
  const on = (t: Tensor) => batchToDevice(t, device);
  const realIn = on(
    toInput(
      pairs.map((p) => p.real.image.data),
      w,
      h,
      false,
    ),
  );
  const fakeIn = on(
    toInput(
      pairs.map((p) => (p.fake ?? p.real).image.data),
      w,
      h,
      false,
    ),
  );
  const actions = sampleActions(policy.forward(realIn, fakeIn), rng);
  const images: Uint8Array[] = [];
  const masks: { mask: Uint8Array; forged: boolean }[] = [];
  const labels: number[] = [];
  const types: number[] = [];
  const magMask: number[] = [];
  for (const [i, p] of pairs.entries()) {
    const t = actions.type[i];
    if (p.label === 0 && t !== SLADD_KEEP_REAL && p.fake !== null) {
      const forged = await sladdForgery(p.real, p.fake, { region: actions.region[i], type: t, mag: actions.mag[i] }, rng);
      images.push(forged.image.data);
      masks.push({ mask: forged.mask, forged: true });
      labels.push(1);
      types.push(t);
      magMask.push(t === 2 ? 1 : 0);
    } else {
      images.push(p.real.image.data);
      masks.push({ mask: p.mask, forged: false });
      labels.push(p.label);
      types.push(p.label === 0 ? SLADD_TYPE_REAL : SLADD_TYPE_FAKE);
      magMask.push(0);
    }
  }
  const twice = <T>(a: T[]) => [...a, ...a];
  const x = on(torch.cat([toInput(images, w, h, false), toInput(images, w, h, true)], 0));
  const B = 2 * pairs.length;
  detector.train();
  const outputs = detector.forward(x) as SladdOutputs;
  const [, , mh, mw] = outputs.map.shape;
  const mask16 = on(torch.cat([toMaskTargets(masks, w, h, mh, mw, false), toMaskTargets(masks, w, h, mh, mw, true)], 0));
  const losses = sladdLosses(
    outputs,
    {
      label: on(torch.tensor(twice(labels), [B], 'int64')),
      typeLabel: on(torch.tensor(twice(types), [B], 'int64')),
      mask16,
      magLabel: on(torch.tensor(twice(actions.mag), [B])),
      magMask: on(torch.tensor(twice(magMask), [B])),
    },
    detector.config,
  );
  optimizers.policy.zeroGrad();
  optimizers.detector.zeroGrad();
  losses.total.backward();
  optimizers.detector.step();
  const synthesizerLoss = reinforceLoss(actions, losses.total);
  synthesizerLoss.backward();
  optimizers.policy.step();
  return {
    losses: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.item()])),
    synthesizerLoss: synthesizerLoss.item(),
    labels,
    typeLabels: types,
    region: actions.region,
    type: actions.type,
    mag: actions.mag,
  };
}
