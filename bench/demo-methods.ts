/**
 * Milliseconds per training step of each method at the full demo's crop side and batch (forward,
 * the method's own losses, backward, AdamW; MSCCNet is the demo's small variant), the figures
 * behind DEMO_STEP_MS and the demo's default baselines (src/demo/plan.ts methodsWithinBudget).
 * Prints one JSON line per method, then the baselines these figures would choose. Not a test.
 *
 *   node --import tsx bench/demo-methods.ts [steps=5] [threads=2] [method …]
 */
import { loadavg } from 'node:os';
import { DEMO_PLANS, demoBaselineModel, methodsWithinBudget } from '../src/demo/plan.js';
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

const measured = {} as Record<MethodName, number>;
for (const method of METHOD_NAMES) {
  if (chosen.length > 0 && !chosen.includes(method)) continue;
  torch.manualSeed(0);
  const model = buildMethod(method, method === 'msccnet' ? plan.model : demoBaselineModel(method, side));
  model.train();
  const optimizer = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.01 });
  const times: number[] = [];
  for (let step = 0; step < steps + 1; step++) {
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
  model.dispose();
  measured[method] = Math.round(median(times));
  console.log(JSON.stringify({ method, side, batch: n, threads, steps, msPerStep: measured[method], load1: Math.round(loadavg()[0]! * 100) / 100 }));
}
if (chosen.length === 0) {
  // the steps every model trains in the full demo: 10 intra epochs and one epoch per leave-one-out run
  const stepsPerModel = 630;
  console.log(
    JSON.stringify({ stepsPerModel, baselineSeconds: plan.baselineSeconds, chosen: methodsWithinBudget(stepsPerModel, plan.baselineSeconds, measured) }),
  );
}
