/** (a) Parity on the device: the msccnet-128 fixtures' eval outputs and one official SGD step. */
import { join } from 'node:path';
import { SGD, loadSafetensors } from '../../src/nn/index.js';
import { applyDetfill, detfillInput } from '../../src/models/detfill.js';
import { MSCCNet, msccnetLosses, type MsccnetTargets } from '../../src/models/msccnet/index.js';
import { torch } from '../../src/torch/index.js';
import {
  LOSS_KEYS,
  TRAIN_TOLERANCE,
  ZERO_GRAD_PARAM,
  absSum,
  compareOutputs,
  deltaTolerance,
  flat,
  gradTolerance,
  l2,
  readEvalExpected,
  readTrainFixture,
  rel,
} from '../../test/helpers/msccnet-fixtures.js';
import { host, type GpuCheckOptions, type Line } from './common.js';

/** (a) eval outputs of the detfill model on the device vs msccnet-128 (README §6 tolerance: ratio ≤ 1). */
export function parityEval(o: GpuCheckOptions): Line {
  const expected = readEvalExpected(join(o.fixtures, 'msccnet-128'));
  const { input_size: size, batch } = expected;
  const model = new MSCCNet({ inputSize: size });
  try {
    applyDetfill(model, expected.offset_basis);
    model.eval();
    model.to(o.device);
    const out = torch.noGrad(() =>
      torch.tidy(() => {
        const x = torch.fromTypedArray(detfillInput(batch, size), [batch, 3, size, size]).to(o.device);
        let aux: Float32Array = new Float32Array(0);
        const y = model.forward(x, (name, value) => {
          if (name === 'mscc.fres_map_output') aux = host(value);
        });
        return { img: host(y.imgLogits), mask: host(y.maskLogits), aux };
      }),
    );
    const K = out.img.length / batch;
    const probFake = Array.from({ length: batch }, (_, n) => 1 / (1 + Math.exp(out.img[n * K] - out.img[n * K + 1])));
    const report = {
      img_logits: compareOutputs(out.img, flat(expected.img_logits)),
      prob_fake: compareOutputs(probFake, expected.prob_fake),
      mask_logits: compareOutputs(out.mask, flat(expected.mask_logits)),
      aux_map: compareOutputs(out.aux, flat(expected.aux_map)),
    };
    return {
      check: 'parity-eval',
      device: o.device,
      size,
      batch,
      outputs: report,
      tolerance: 'ratio ≤ 1: |a−b| ≤ 1e-4 + 1e-4·|b|',
      pass: Object.values(report).every((r) => r.ratio <= 1),
    };
  } finally {
    model.dispose();
  }
}

/** (a) one official SGD step on the device vs msccnet-128-train: losses, gradients, the step, the second forward. */
export async function parityTrainStep(o: GpuCheckOptions): Promise<Line> {
  const dir = join(o.fixtures, 'msccnet-128-train');
  const fixture = readTrainFixture(dir);
  const ref = fixture.float64;
  const { input_size: size, batch } = fixture;
  const model = new MSCCNet({ inputSize: size, dropout: 0 }); // the fixture disables Dropout2d (p = 0)
  const { tensors } = await loadSafetensors(join(dir, 'targets.safetensors'));
  try {
    applyDetfill(model, fixture.offset_basis);
    model.train();
    model.to(o.device);
    const targets: MsccnetTargets = { segmentation: tensors.get('target_segmentation')!.to(o.device), label: tensors.get('target_label')!.to(o.device) };
    const x = torch.fromTypedArray(detfillInput(batch, size), [batch, 3, size, size]).to(o.device);
    const tracked = Object.keys(ref.params);
    const params = new Map(model.namedParameters());
    const before = new Map(tracked.map((n) => [n, host(params.get(n)!)]));
    const losses = msccnetLosses(model.forward(x), targets, { auxLoss: model.config.auxLoss });
    const lossStep0 = Object.fromEntries(LOSS_KEYS.map((k) => [k, rel(losses[k]!.item(), ref.loss_step0[k])]));
    losses.total.backward();
    const gradNorm = Math.sqrt(torch.tidy(() => model.parameters().reduce((acc, p) => acc + p.grad!.double().pow(2).sum().item(), 0)));
    // worst error / its tolerance over the tracked parameters (≤ 1 passes), and which parameter
    let grads = { worst: 0, name: '' };
    for (const name of tracked) {
      if (name === ZERO_GRAD_PARAM) continue;
      const g = host(params.get(name)!.grad!);
      const r = ref.params[name].grad;
      const q = Math.max(rel(l2(g), r.l2), rel(absSum(g), r.abs_sum)) / gradTolerance(name);
      if (q > grads.worst) grads = { worst: q, name };
    }
    const { lr, momentum, weight_decay: weightDecay } = ref.optimizer;
    new SGD(model.parameters(), { lr, momentum, weightDecay }).step();
    let deltas = { worst: 0, name: '' };
    for (const name of tracked) {
      if (name === ZERO_GRAD_PARAM) continue;
      const after = host(params.get(name)!);
      const b = before.get(name)!;
      const delta = after.map((v, i) => v - b[i]);
      const r = ref.params[name].delta;
      const q = Math.max(rel(l2(delta), r.l2), rel(absSum(delta), r.abs_sum)) / deltaTolerance(name);
      if (q > deltas.worst) deltas = { worst: q, name };
    }
    const after = torch.noGrad(() => msccnetLosses(model.forward(x), targets, { auxLoss: true }));
    const lossAfter = Object.fromEntries(LOSS_KEYS.map((k) => [k, rel(after[k]!.item(), ref.loss_after_step[k])]));
    const gradNormRel = rel(gradNorm, ref.grad_global_l2_norm_all_params);
    const pass =
      Object.values(lossStep0).every((e) => e <= TRAIN_TOLERANCE.lossStep0) &&
      gradNormRel <= TRAIN_TOLERANCE.gradNorm &&
      grads.worst <= 1 &&
      deltas.worst <= 1 &&
      Object.values(lossAfter).every((e) => e <= TRAIN_TOLERANCE.lossAfterStep);
    return {
      check: 'parity-train-step',
      device: o.device,
      size,
      batch,
      lossStep0RelError: lossStep0,
      gradNormRelError: gradNormRel,
      gradWorstOverTolerance: grads,
      stepWorstOverTolerance: deltas,
      lossAfterStepRelError: lossAfter,
      tolerance: { ...TRAIN_TOLERANCE, gradsAndStep: 'worst ≤ 1 (per-parameter tolerance of test/models/msccnet-train.test.ts)' },
      pass,
    };
  } finally {
    model.dispose();
  }
}
