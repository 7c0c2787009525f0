/**
 * Inference benchmark (issue 6): seconds per image of the reference MSCCNet at 512², batch 1 and
 * 8, for onnxruntime-node fp32, onnxruntime-node int8 (static QDQ, calibrated; `ort-int8-dynamic`
 * on request) and the libtorch engine, each in its own child process so that peak RSS is its own.
 * Prints one JSON line per configuration, the op counts of onnxruntime's optimised int8 graph, and
 * a summary line with the ratios to libtorch. Figures, not assertions. The int8 model is
 * calibrated on two inputs like the timed one: speed does not depend on the ranges (accuracy is
 * `bench:quantize`'s business).
 *
 *   npm run bench:infer -- [side=512] [batches=1,8] [runs=3] [threads=2] [engines=libtorch,ort-fp32,ort-int8]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { torch } from '../src/torch/index.js';
import { buildMsccnet } from '../src/models/msccnet/index.js';
import { applyDetfill } from '../src/models/detfill.js';
import onnxProto from 'onnx-proto';
import { exportMsccnet, exportMsccnetInt8, MSCCNET_IO } from '../src/onnx/index.js';

/** Conv + linear multiply-adds of the reference configuration per 512² image (official-spec §1). */
const GMAC_PER_512_IMAGE = 218.24;

type Engine = 'ort-fp32' | 'ort-int8' | 'ort-int8-dynamic' | 'libtorch';
const ENGINES: readonly Engine[] = ['libtorch', 'ort-fp32', 'ort-int8', 'ort-int8-dynamic'];

interface Figures {
  bench: 'infer';
  engine: Engine;
  side: number;
  batch: number;
  threads: number;
  runs: number;
  secondsPerImage: number;
  medianBatchSeconds: number;
  minBatchSeconds: number;
  gflops: number;
  peakRssMiB: number;
  loadAvg1m: number;
}

/** Input of the timed runs (and, with other phases, of the calibration). */
const benchInput = (batch: number, side: number, phase = 0) => new Float32Array(batch * 3 * side * side).map((_, i) => Math.sin(i * 0.37 + phase));

/** Op counts of onnxruntime's optimised graph (what really runs: QLinearConv, the Q/DQ left over). */
async function optimizedOps(onnxPath: string, threads: number): Promise<Record<string, number>> {
  const optimized = `${onnxPath}.optimized.onnx`;
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimized,
    logSeverityLevel: 3,
  });
  await session.release();
  const counts: Record<string, number> = {};
  for (const n of onnxProto.onnx.ModelProto.decode(await readFile(optimized)).graph?.node ?? []) counts[n.opType ?? ''] = (counts[n.opType ?? ''] ?? 0) + 1;
  return counts;
}

function model(side: number) {
  const m = buildMsccnet('msccnet', { inputSize: side }).eval();
  applyDetfill(m);
  return m;
}

/** Child: times one engine at one batch size and prints its JSON line. */
async function child(engine: Engine, side: number, batch: number, runs: number, threads: number, onnxPath: string): Promise<void> {
  const input = benchInput(batch, side);
  let runOnce: () => Promise<void>;
  if (engine === 'libtorch') {
    torch.setNumThreads(threads);
    const m = model(side);
    const x = torch.fromTypedArray(input, [batch, 3, side, side]);
    runOnce = async () => {
      torch.tidy(() => torch.noGrad(() => m.forward(x)));
    };
  } else {
    const session = await ort.InferenceSession.create(await readFile(onnxPath), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const feeds = { [MSCCNET_IO.input]: new ort.Tensor('float32', input, [batch, 3, side, side]) };
    runOnce = async () => {
      await session.run(feeds);
    };
  }
  const seconds: number[] = [];
  for (let i = 0; i <= runs; i++) {
    // run 0 warms up and is not counted
    const t0 = performance.now();
    await runOnce();
    if (i > 0) seconds.push((performance.now() - t0) / 1000);
  }
  seconds.sort((a, b) => a - b);
  const median = seconds[seconds.length >> 1];
  const figures: Figures = {
    bench: 'infer',
    engine,
    side,
    batch,
    threads,
    runs,
    secondsPerImage: +(median / batch).toFixed(4),
    medianBatchSeconds: +median.toFixed(3),
    minBatchSeconds: +seconds[0].toFixed(3),
    gflops: +((2 * GMAC_PER_512_IMAGE * (side / 512) ** 2 * batch) / median).toFixed(1),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    loadAvg1m: +loadavg()[0].toFixed(2),
  };
  console.log(JSON.stringify(figures));
}

async function main(): Promise<void> {
  const [sideArg = '512', batchesArg = '1,8', runsArg = '3', threadsArg = '2', enginesArg = 'libtorch,ort-fp32,ort-int8'] = process.argv.slice(2);
  const [side, runs, threads] = [Number(sideArg), Number(runsArg), Number(threadsArg)];
  const batches = batchesArg.split(',').map(Number);
  const engines = enginesArg.split(',') as Engine[];
  const unknown = engines.filter((e) => !ENGINES.includes(e));
  if (unknown.length > 0) throw new Error(`unknown engine(s) ${unknown.join(', ')}; choose from ${ENGINES.join(', ')}`);
  const file = (e: Engine) => join(dir, `${e === 'libtorch' ? 'ort-fp32' : e}.onnx`);
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-'));
  try {
    const m = model(side);
    for (const e of ENGINES.filter((x) => x !== 'libtorch' && (engines.includes(x) || x === 'ort-fp32'))) {
      const t0 = performance.now();
      const { bytes } =
        e === 'ort-int8'
          ? await exportMsccnetInt8(m, {
              batches: [1, 2].map((phase) => ({ data: benchInput(1, side, phase), dims: [1, 3, side, side] })),
              calibrationHash: 'bench-input',
              threads,
            })
          : exportMsccnet(m, { precision: e === 'ort-fp32' ? 'fp32' : 'int8-dynamic' });
      await writeFile(file(e), bytes);
      console.log(
        JSON.stringify({
          bench: 'infer.export',
          engine: e,
          side,
          seconds: +((performance.now() - t0) / 1000).toFixed(1),
          mib: +(bytes.length / 2 ** 20).toFixed(1),
        }),
      );
    }
    if (engines.includes('ort-int8')) console.log(JSON.stringify({ bench: 'infer.int8OptimizedGraph', ops: await optimizedOps(file('ort-int8'), threads) }));
    m.dispose();
    const all: Figures[] = [];
    for (const batch of batches) {
      for (const engine of engines) {
        const onnx = file(engine);
        const r = spawnSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', engine, String(side), String(batch), String(runs), String(threads), onnx],
          { encoding: 'utf8', maxBuffer: 1 << 24 },
        );
        const line = r.stdout.trim().split('\n').at(-1) ?? '';
        if (r.status !== 0 || !line.startsWith('{')) {
          console.log(JSON.stringify({ bench: 'infer', engine, side, batch, error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') }));
          continue;
        }
        console.log(line);
        all.push(JSON.parse(line) as Figures);
      }
    }
    for (const batch of batches) {
      const get = (e: Engine) => all.find((f) => f.engine === e && f.batch === batch)?.secondsPerImage;
      const [t, f32, i8] = [get('libtorch'), get('ort-fp32'), get('ort-int8')];
      console.log(
        JSON.stringify({
          bench: 'infer.summary',
          side,
          batch,
          fp32OverLibtorch: t && f32 ? +(f32 / t).toFixed(3) : null,
          int8OverLibtorch: t && i8 ? +(i8 / t).toFixed(3) : null,
          int8OverFp32: f32 && i8 ? +(i8 / f32).toFixed(3) : null,
          targets: { fp32OverLibtorch: 1.0, int8OverLibtorch: 0.5 },
        }),
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [, , , engine, side, batch, runs, threads, onnx] = process.argv;
  await child(engine as Engine, Number(side), Number(batch), Number(runs), Number(threads), onnx);
} else {
  await main();
}
