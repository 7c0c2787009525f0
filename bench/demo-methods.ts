/**
 * Milliseconds per training step of each method at the full demo's crop side and batch (forward,
 * the method's own losses, backward, AdamW; MSCCNet is the demo's small variant), the figures
 * behind DEMO_STEP_MS and the demo's default baselines (src/demo/plan.ts methodsWithinBudget).
 * Times the methods round-robin; prints one JSON line per method (with its ratio to MSCCNet's step in
 * the same rounds and the load average over them), then the baselines these figures would choose. Not a test.
 *
 *   node --import tsx bench/demo-methods.ts [steps=5] [threads=2] [method …]
 */
import { loadavg } from 'node:os';
import { DEMO_PLANS, demoBaselineModel, methodsWithinBudget, type DemoBaseline } from '../src/demo/plan.js';
import { METHOD_NAMES, methodForward, type MethodName } from '../src/models/method.js';
import { buildMethod } from '../src/models/registry.js';
import { AdamW } from '../src/nn/index.js';
import { torch } from '../src/torch/index.js';

const [stepsArg, threadsArg, ...chosen] = process.argv.slice(2);
const steps = Number(stepsArg ?? 5);
const threads = Number(threadsArg ?? 2);
const plan = DEMO_PLANS.full;
const side = plan.cropSide;
const n = plan.batchSize;
torch.setNumThreads(threads);
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;

// every method built first, then timed round-robin (one step of each per round), so that a load
// that changes during the run weighs on all of them alike and their ratios stay comparable
const runs = METHOD_NAMES.filter((m) => chosen.length === 0 || chosen.includes(m)).map((method) => {
  torch.manualSeed(0);
  const model = buildMethod(method, method === 'msccnet' ? plan.model : demoBaselineModel(method as DemoBaseline, side));
  model.train();
  return { method, model, optimizer: new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.01 }), times: [] as number[] };
});
const loads: number[] = [];
for (let step = 0; step < steps + 1; step++) {
  for (const { model, optimizer, times } of runs) {
    // the first step (allocations, autotuning) is not timed
    const t0 = performance.now();
    torch.tidy(() => {
      const x = torch.randn([n, 3, side, side]);
      const segmentation = torch.randint(0, 2, [n, side, side]);
      const label = torch.randint(0, 2, [n]);
      // auxiliary inputs (CAT-Net's DCT volume and q-table) as zeros of their shapes: the step's cost does not depend on their values
      const aux = Object.fromEntries((model.auxiliaryInputs ?? []).map((a) => [a.name, torch.zeros(a.shape(n, side, side))]));
      const losses = model.losses(methodForward(model, x, aux), { segmentation, label, image: x });
      optimizer.zeroGrad();
      losses.total.backward();
      optimizer.step();
    });
    if (step > 0) times.push(performance.now() - t0);
  }
  loads.push(loadavg()[0]!);
}
const measured = {} as Record<MethodName, number>;
for (const { method, model, times } of runs) {
  model.dispose();
  measured[method] = Math.round(median(times));
}
// the ratio to MSCCNet's step of the same rounds: the figure that survives a loaded machine
const load1 = { min: Math.round(Math.min(...loads) * 10) / 10, max: Math.round(Math.max(...loads) * 10) / 10 };
for (const { method } of runs) {
  const ratio = measured.msccnet === undefined ? null : Math.round((100 * measured[method]) / measured.msccnet) / 100;
  console.log(JSON.stringify({ method, side, batch: n, threads, steps, msPerStep: measured[method], ratioToMsccnet: ratio, load1 }));
}
if (chosen.length === 0) {
  // the steps every model trains in the full demo: 10 intra epochs and one epoch per leave-one-out run
  const stepsPerModel = 630;
  console.log(
    JSON.stringify({ stepsPerModel, baselineSeconds: plan.baselineSeconds, chosen: methodsWithinBudget(stepsPerModel, plan.baselineSeconds, measured) }),
  );
}
