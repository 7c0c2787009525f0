/**
 * Speed of the JPEG coefficient reader (entropy decoding only, what CAT-Net needs) against sharp's
 * full decode of the same files to RGB (libjpeg-turbo/mozjpeg: entropy decoding + IDCT + upsampling
 * + colour conversion), both on one thread. Prints a table; never fails.
 *   node --import tsx bench/jpeg.ts [runs=7] [sides=512,1024,2048] [quality=90]
 * MB/s counts the compressed file's bytes per second of CPU time (user + system of this process,
 * sharp's worker thread included), median of `runs` calls: on a shared, loaded machine CPU time
 * stays close to the work done, where wall time also counts the waits for a core. The wall-clock
 * medians are printed beside it.
 */
import { availableParallelism, loadavg } from 'node:os';
import sharp from 'sharp';
import { readJpegCoefficients } from '../src/image/index.js';

const runs = Number(process.argv[2] ?? 7);
const sides = (process.argv[3] ?? '512,1024,2048').split(',').map(Number);
const quality = Number(process.argv[4] ?? 90);
sharp.concurrency(1);
const WARMUP = 10;

/** A photo-like test picture: smooth shading, textures of several scales, mild noise. */
function picture(side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  let seed = 12345;
  const noise = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) / 65536 - 0.5;
  };
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const [u, v] = [x / side, y / side];
      for (let c = 0; c < 3; c++) {
        const value =
          110 +
          60 * Math.sin(6 * u + 2 * c) * Math.cos(5 * v) +
          25 * Math.sin(40 * u * v + c) +
          12 * Math.sin((x + 3 * y) / (3 + c)) * (u > 0.5 ? 1 : 0.3) +
          8 * noise();
        out[(y * side + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return out;
}

interface Timing {
  readonly cpu: number;
  readonly wall: number;
}

/** Median CPU and wall milliseconds of `runs` calls of `work`, after WARMUP calls (the reader's first calls run before the JIT has optimised it). */
async function timeIt(work: () => unknown): Promise<Timing> {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < runs + WARMUP; i++) {
    const [c0, t0] = [process.cpuUsage(), performance.now()];
    await work();
    const [c, t] = [process.cpuUsage(c0), performance.now() - t0];
    if (i < WARMUP) continue;
    cpu.push((c.user + c.system) / 1000);
    wall.push(t);
  }
  const median = (v: number[]): number => v.sort((x, y) => x - y)[v.length >> 1];
  return { cpu: median(cpu), wall: median(wall) };
}

const rows: string[][] = [['file', 'KB', 'reader CPU ms', 'reader MB/s', 'sharp CPU ms', 'sharp MB/s', 'reader/sharp CPU', 'wall ms reader / sharp']];
for (const side of sides) {
  const pixels = picture(side);
  for (const progressive of [false, true]) {
    const file = await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
      .jpeg({ quality, progressive })
      .toBuffer();
    const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
    const reader = await timeIt(() => readJpegCoefficients(bytes));
    const full = await timeIt(() => sharp(file).raw().toBuffer());
    const mbps = (ms: number): string => (file.length / 1e6 / (ms / 1000)).toFixed(1);
    rows.push([
      `${side}² q${quality} 4:2:0 ${progressive ? 'progressive' : 'baseline'}`,
      (file.length / 1024).toFixed(0),
      reader.cpu.toFixed(1),
      mbps(reader.cpu),
      full.cpu.toFixed(1),
      mbps(full.cpu),
      (reader.cpu / full.cpu).toFixed(2),
      `${reader.wall.toFixed(1)} / ${full.wall.toFixed(1)}`,
    ]);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
console.log(
  JSON.stringify({
    bench: 'jpeg.coefficients',
    runs,
    quality,
    sharpConcurrency: sharp.concurrency(),
    cpus: availableParallelism(),
    loadavg: loadavg().map((l) => +l.toFixed(2)),
  }),
);
