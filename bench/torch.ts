/**
 * Training-step benchmark of the engine against PyTorch on the same machine, in the same run:
 * dilated ResNet-50 (V1c, os8) + 1×1 head, bilinear up-sampling to the input size, pixel
 * cross-entropy, backward, SGD (momentum 0.9, weight decay 5e-4) step.
 *
 *   npm run bench:torch                      # 512², batch 2, 3 timed steps
 *   npm run bench:torch -- --quick           # 128², batch 2, 2 timed steps
 *   npm run bench:torch -- --side 256 --batch 1 --runs 5 --threads 2
 *
 * If `python3 -c 'import torch'` works (Debian python3-torch; $PYTHON, then python3 on the PATH,
 * then /usr/bin/python3 are tried), the same network runs in a
 * PyTorch child process, steps interleaved with ours so that both see the same machine load;
 * otherwise the PyTorch column is null. Prints one JSON line; never asserts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { F, torch } from '../src/torch/index.js';
import { SGD } from '../src/nn/index.js';
import { DilatedResNet50 } from './resnet.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    side: { type: 'string' },
    batch: { type: 'string' },
    runs: { type: 'string' },
    threads: { type: 'string' },
    'no-pytorch': { type: 'boolean', default: false },
  },
});
const side = Number(args.side ?? (args.quick ? 128 : 512));
const batch = Number(args.batch ?? 2);
const runs = Number(args.runs ?? (args.quick ? 2 : 3));
const threads = Number(args.threads ?? availableParallelism());

const PYTHON = String.raw`
import sys, time, resource, torch, torch.nn as nn, torch.nn.functional as F
side, batch, threads, here = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, here)
from msccnet import Backbone
torch.set_num_threads(threads); torch.manual_seed(0)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone, self.head = Backbone(), nn.Conv2d(2048, 2, 1)
    def forward(self, x):
        return self.head(self.backbone(x)[-1])
model = Net().train()
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
x = torch.randn(batch, 3, side, side); target = torch.randint(0, 2, (batch, side, side))
print('ready', flush=True)
for line in sys.stdin:
    t0 = time.perf_counter()
    up = F.interpolate(model(x), size=(side, side), mode='bilinear', align_corners=False)
    loss = F.cross_entropy(up, target, ignore_index=255)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
`;

/** A PyTorch child that runs one step per request, or null when python3 has no torch. */
async function startPytorch(): Promise<(((/* one step */) => Promise<{ seconds: number; maxRssKiB: number }>) & { stop(): void }) | null> {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  const python = args['no-pytorch'] ? undefined : candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (python === undefined) return null;
  const child = spawn(python, ['-c', PYTHON, String(side), String(batch), String(threads), join(dirname(fileURLToPath(import.meta.url)), 'pytorch')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`PyTorch child did not start: ${String(first.value)}`);
  const step = async () => {
    child.stdin.write('step\n');
    const r = await lines.next();
    const [seconds, rss] = String(r.value).split(' ').map(Number);
    return { seconds, maxRssKiB: rss };
  };
  return Object.assign(step, { stop: () => child.stdin.end() });
}

torch.setNumThreads(threads);
torch.manualSeed(0);
const model = new DilatedResNet50().train();
const opt = new SGD(model.parameters(), { lr: 1e-3, momentum: 0.9, weightDecay: 5e-4 });
const x = torch.keep(torch.randn([batch, 3, side, side]));
const target = torch.keep(torch.randint(0, 2, [batch, side, side]));
const ourStep = () => {
  const t0 = performance.now();
  torch.tidy(() => {
    const up = F.interpolate(model.forward(x), { size: side, mode: 'bilinear', alignCorners: false });
    const loss = F.crossEntropy(up, target, { ignoreIndex: 255 });
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  return (performance.now() - t0) / 1000;
};

const pytorch = await startPytorch();
const ours: number[] = [];
const theirs: number[] = [];
let pytorchRssKiB = 0;
const loadBefore = loadavg();
for (let i = 0; i <= runs; i++) {
  // step 0 warms up both and is not counted
  const a = ourStep();
  const b = pytorch ? await pytorch() : null;
  if (i === 0) continue;
  ours.push(a);
  if (b) {
    theirs.push(b.seconds);
    pytorchRssKiB = b.maxRssKiB;
  }
}
pytorch?.stop();
const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
const round = (v: number) => Math.round(v * 1000) / 1000;
const oursS = median(ours);
const theirsS = theirs.length ? median(theirs) : null;
console.log(
  JSON.stringify({
    bench: 'torch.dilatedResNet50os8.trainStep',
    side,
    batch,
    runs,
    threads,
    oursSeconds: round(oursS),
    pytorchSeconds: theirsS === null ? null : round(theirsS),
    ratio: theirsS === null ? null : round(oursS / theirsS),
    oursAllSeconds: ours.map(round),
    pytorchAllSeconds: theirs.map(round),
    oursMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    pytorchMaxRssMiB: pytorch ? Math.round(pytorchRssKiB / 1024) : null,
    loadavg1mBeforeAfter: [round(loadBefore[0]), round(loadavg()[0])],
    parameters: model.numParameters(),
  }),
);
