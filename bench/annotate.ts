/**
 * Annotation speed: ms per pair on one thread at 256² and 512² (decode of both PNGs, the computation, the
 * mask encode, and their sum), then pairs/s through the worker pool with 1 and with all workers (steady state,
 * and with start-up).
 * Pairs are synthesised from the sample faces (no fixtures needed). One JSON line per figure; never fails.
 *   npm run bench:annotate [-- distinct=24 pairs=120 runs=15]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { annotateGrayPair, annotatePairs } from '../src/annotate/index.js';
import type { Pair } from '../src/annotate/index.js';
import { writeFileAtomic } from '../src/annotate/files.js';
import { SAMPLE_FACES, sampleFace, synthesiseFake } from '../src/data/samples.js';
import { encodePng, loadOpenCv, readColor, rgbToGray } from '../src/image/index.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const distinctPairs = Number(args.distinct ?? 24);
const batchPairs = Number(args.pairs ?? 120);
const runs = Number(args.runs ?? 15);
sharp.concurrency(1); // one core: libvips would otherwise decode on its own threads
const load = (): number[] => loadavg().map((v) => Math.round(v * 100) / 100);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (v: number): number => Math.round(v * 100) / 100;

const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-'));
try {
  await loadOpenCv();
  for (const side of [256, 512]) {
    const pairs: Pair[] = [];
    for (let i = 0; i < distinctPairs; i++) {
      const t = i % SAMPLE_FACES.length, shift = 2 * Math.floor(i / SAMPLE_FACES.length);
      const real = await sampleFace(t, side, shift);
      const fake = synthesiseFake(real, i % 2 === 0 ? 'SelfBlend' : 'Swap', await sampleFace(t + 1, side, shift), i);
      const pair = { real: join(dir, `${side}`, `real${i}.png`), fake: join(dir, `${side}`, `fake${i}.png`), output: `m${i}.png` };
      await writeFileAtomic(pair.real, await encodePng(real));
      await writeFileAtomic(pair.fake, await encodePng(fake));
      pairs.push(pair);
    }
    const phases: Record<'decode' | 'compute' | 'encode' | 'total', number[]> = { decode: [], compute: [], encode: [], total: [] };
    // CPU time of the process too: on a shared machine wall time mostly measures the other processes.
    const cpu: Record<keyof typeof phases, number[]> = { decode: [], compute: [], encode: [], total: [] };
    const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    for (let r = 0; r <= runs; r++) { // run 0 warms up and is not counted
      const pair = pairs[r % pairs.length];
      const c0 = cpuMs(), t0 = performance.now();
      const [realBytes, fakeBytes] = await Promise.all([readFile(pair.real), readFile(pair.fake)]);
      const realGray = rgbToGray(await readColor(realBytes)), fakeGray = rgbToGray(await readColor(fakeBytes));
      const t1 = performance.now(), c1 = cpuMs();
      const result = await annotateGrayPair(realGray, fakeGray);
      const t2 = performance.now(), c2 = cpuMs();
      if (result.status === 'annotated') await encodePng(result.mask, { compressionLevel: 1 });
      const t3 = performance.now(), c3 = cpuMs();
      if (r === 0) continue;
      phases.decode.push(t1 - t0); phases.compute.push(t2 - t1); phases.encode.push(t3 - t2); phases.total.push(t3 - t0);
      cpu.decode.push(c1 - c0); cpu.compute.push(c2 - c1); cpu.encode.push(c3 - c2); cpu.total.push(c3 - c0);
    }
    // The pool run repeats the synthesised pairs (as distinct tasks) up to batchPairs for a steady-state figure.
    const batch = Array.from({ length: batchPairs }, (_, i) => ({ ...pairs[i % pairs.length], output: `m${i}.png` }));
    for (const [phase, ms] of Object.entries(phases)) {
      const c = cpu[phase as keyof typeof cpu];
      console.log(JSON.stringify({ bench: 'annotate.pair', side, phase, threads: 1, runs, medianMs: round(median(ms)), minMs: round(Math.min(...ms)),
        medianCpuMs: round(median(c)), load: load() }));
    }
    for (const workers of [...new Set([1, availableParallelism()])]) {
      // Steady state: the rate over the second half of the completions, so worker start-up (tsx, opencv.js load)
      // is excluded; the whole-run rate, start-up included, is printed too.
      const doneAt: number[] = [];
      const t0 = performance.now();
      const report = await annotatePairs(batch, { out: join(dir, `out${side}-${workers}`), workers, overwrite: true,
        onProgress: (e) => { if (e.kind === 'pair') doneAt.push(performance.now()); } });
      const seconds = (performance.now() - t0) / 1000;
      const half = doneAt.length >> 1;
      const steady = (doneAt.length - 1 - half) / ((doneAt[doneAt.length - 1] - doneAt[half]) / 1000);
      console.log(JSON.stringify({ bench: 'annotate.batch', side, workers, pairs: batch.length, annotated: report.summary.annotated,
        steadyPairsPerSecond: round(steady), pairsPerSecond: round(batch.length / seconds), seconds: round(seconds),
        note: 'steady = second half of the run (start-up excluded); pairsPerSecond includes worker start-up', load: load() }));
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
