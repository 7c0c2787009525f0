/**
 * Annotation speed: ms per pair on one thread at 256² and 512² (decode of both PNGs, the computation, the
 * mask encode, decode + compute, and the sum), the reference Python on the same pairs when python3 has cv2 and
 * skimage (alternating with ours, `rounds` times, so both see the same machine load), then pairs/s through
 * the worker pool with 1 and with all workers, alternating, in steady state, with the process CPU per pair.
 * Pairs are synthesised from the sample faces (no fixtures needed). One JSON line per figure; never fails.
 *   npm run bench:annotate [-- distinct=24 runs=48 pairs=160 rounds=2 reference=1]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { annotateGrayPair, annotatePairs } from '../src/annotate/index.js';
import type { Pair } from '../src/annotate/index.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { SAMPLE_FACES, sampleFace, synthesiseFake } from '../src/data/sample-faces.js';
import { encodeGrayPng, encodePng, loadOpenCv, readColor, rgbToGray } from '../src/image/index.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const distinctPairs = Number(args.distinct ?? 24);
const runs = Number(args.runs ?? 48);
const batchPairs = Number(args.pairs ?? 160);
const rounds = Number(args.rounds ?? 2);
const withReference = args.reference !== '0';
sharp.concurrency(1); // one core: libvips would otherwise work on its own threads
const load = (): number[] => loadavg().map((v) => Math.round(v * 100) / 100);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (v: number): number => Math.round(v * 100) / 100;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const run = promisify(execFile);

/** A python3 that imports cv2 and skimage (MSCCNET_PYTHON, python3, /usr/bin/python3), or null. */
async function referencePython(): Promise<string | null> {
  for (const python of [process.env.MSCCNET_PYTHON, 'python3', '/usr/bin/python3']) {
    if (python === undefined) continue;
    if (
      await run(python, ['-c', 'import cv2, skimage']).then(
        () => true,
        () => false,
      )
    )
      return python;
  }
  return null;
}

type Phase = 'decode' | 'compute' | 'encode' | 'decodeCompute' | 'total';

/** Our per-pair phases on one thread, as the batch worker runs them; the first pass over the pairs warms up. */
async function timeOurs(pairs: readonly Pair[]): Promise<Record<Phase, { wall: number[]; cpu: number[] }>> {
  const phases = Object.fromEntries(
    (['decode', 'compute', 'encode', 'decodeCompute', 'total'] as const).map((p) => [p, { wall: [] as number[], cpu: [] as number[] }]),
  ) as Record<Phase, { wall: number[]; cpu: number[] }>;
  for (let r = 0; r < pairs.length + runs; r++) {
    const pair = pairs[r % pairs.length];
    const c0 = cpuMs(),
      t0 = performance.now();
    const [realBytes, fakeBytes] = await Promise.all([readFile(pair.real), readFile(pair.fake)]);
    const realGray = rgbToGray(await readColor(realBytes)),
      fakeGray = rgbToGray(await readColor(fakeBytes));
    const t1 = performance.now(),
      c1 = cpuMs();
    const result = await annotateGrayPair(realGray, fakeGray);
    const t2 = performance.now(),
      c2 = cpuMs();
    if (result.status === 'annotated') encodeGrayPng(result.mask, 1);
    const t3 = performance.now(),
      c3 = cpuMs();
    if (r < pairs.length) continue;
    const add = (phase: Phase, wall: number, cpu: number): void => {
      phases[phase].wall.push(wall);
      phases[phase].cpu.push(cpu);
    };
    add('decode', t1 - t0, c1 - c0);
    add('compute', t2 - t1, c2 - c1);
    add('encode', t3 - t2, c3 - c2);
    add('decodeCompute', t2 - t0, c2 - c0);
    add('total', t3 - t0, c3 - c0);
  }
  return phases;
}

const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-'));
try {
  await loadOpenCv();
  const python = withReference ? await referencePython() : null;
  if (withReference && python === null) {
    console.log(
      JSON.stringify({
        bench: 'annotate.reference',
        skipped: 'no python3 with cv2 and skimage (apt-get install python3-opencv python3-skimage, or set MSCCNET_PYTHON)',
      }),
    );
  }
  for (const side of [256, 512]) {
    const pairs: Pair[] = [];
    for (let i = 0; i < distinctPairs; i++) {
      const t = i % SAMPLE_FACES.length,
        shift = 2 * Math.floor(i / SAMPLE_FACES.length);
      const real = await sampleFace(t, side, shift);
      const fake = synthesiseFake(real, i % 2 === 0 ? 'SelfBlend' : 'Swap', await sampleFace(t + 1, side, shift), i);
      const pair = { real: join(dir, `${side}`, `real${i}.png`), fake: join(dir, `${side}`, `fake${i}.png`), output: `m${i}.png` };
      await writeFileAtomic(pair.real, await encodePng(real));
      await writeFileAtomic(pair.fake, await encodePng(fake));
      pairs.push(pair);
    }
    for (let k = 0; k < rounds; k++) {
      const phases = await timeOurs(pairs);
      for (const [phase, { wall, cpu }] of Object.entries(phases)) {
        console.log(
          JSON.stringify({
            bench: 'annotate.pair',
            side,
            round: k,
            phase,
            threads: 1,
            runs,
            medianMs: round(median(wall)),
            minMs: round(Math.min(...wall)),
            medianCpuMs: round(median(cpu)),
            load: load(),
          }),
        );
      }
      if (python === null) continue;
      const { stdout } = await run(python, [join(import.meta.dirname, 'annotate-reference.py'), join(dir, `${side}`), String(pairs.length), String(runs)]);
      const ref = JSON.parse(stdout) as { decodeComputeMs: number; minDecodeComputeMs: number; computeMs: number; cpuMs: number };
      const ours = median(phases.decodeCompute.wall);
      console.log(
        JSON.stringify({
          bench: 'annotate.reference',
          side,
          round: k,
          runs,
          ...ref,
          oursDecodeComputeMs: round(ours),
          oursMinDecodeComputeMs: round(Math.min(...phases.decodeCompute.wall)),
          oursCpuMs: round(median(phases.decodeCompute.cpu)),
          speedup: round(ref.decodeComputeMs / ours),
          load: load(),
        }),
      );
    }
    // The pool run repeats the synthesised pairs (as distinct tasks) up to batchPairs for a steady-state figure.
    const batch = Array.from({ length: batchPairs }, (_, i) => ({ ...pairs[i % pairs.length], output: `m${i}.png` }));
    const all = availableParallelism();
    const steadyBy = new Map<number, number[]>();
    for (let k = 0; k < rounds; k++) {
      for (const workers of [...new Set([1, all])]) {
        // Steady state: the rate over the second half of the completions, so worker start-up (tsx, opencv.js load)
        // is excluded; the whole-run rate, start-up included, is printed too. CPU covers every thread of the process.
        const doneAt: number[] = [],
          cpuAt: number[] = [];
        const t0 = performance.now();
        const report = await annotatePairs(batch, {
          out: join(dir, `out${side}-${workers}`),
          workers,
          overwrite: true,
          onProgress: (e) => {
            if (e.kind === 'pair') {
              doneAt.push(performance.now());
              cpuAt.push(cpuMs());
            }
          },
        });
        const seconds = (performance.now() - t0) / 1000;
        const half = doneAt.length >> 1,
          last = doneAt.length - 1;
        const steady = (last - half) / ((doneAt[last] - doneAt[half]) / 1000);
        steadyBy.set(workers, [...(steadyBy.get(workers) ?? []), steady]);
        console.log(
          JSON.stringify({
            bench: 'annotate.batch',
            side,
            round: k,
            workers,
            pairs: batch.length,
            annotated: report.summary.annotated,
            steadyPairsPerSecond: round(steady),
            steadyCpuMsPerPair: round((cpuAt[last] - cpuAt[half]) / (last - half)),
            pairsPerSecond: round(batch.length / seconds),
            seconds: round(seconds),
            note: 'steady = second half of the run (start-up excluded); pairsPerSecond includes worker start-up',
            load: load(),
          }),
        );
      }
    }
    if (all > 1) {
      const best = (w: number): number => Math.max(...(steadyBy.get(w) ?? [0]));
      console.log(
        JSON.stringify({
          bench: 'annotate.scaling',
          side,
          workers: all,
          bestSteady1: round(best(1)),
          bestSteadyAll: round(best(all)),
          scaling: round(best(all) / best(1)),
          note: `best of ${rounds} alternating rounds each`,
          load: load(),
        }),
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
