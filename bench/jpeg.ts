/**
 * Speed of the JPEG coefficient reader (entropy decoding only, what CAT-Net needs) against sharp's
 * full decode of the same files to RGB (libjpeg-turbo/mozjpeg: entropy decoding + IDCT + upsampling
 * + colour conversion), both on one thread. Prints a table; never fails.
 *   node --import tsx bench/jpeg.ts [runs=7] [sides=512,1024,2048] [quality=90]
 * MB/s counts the compressed file's bytes, at the fastest of `runs` calls (the figure least disturbed
 * by other processes on a shared machine); the medians are printed beside it.
 */
import { availableParallelism, loadavg } from 'node:os';
import sharp from 'sharp';
import { readJpegCoefficients } from '../src/image/index.js';

const runs = Number(process.argv[2] ?? 7);
const sides = (process.argv[3] ?? '512,1024,2048').split(',').map(Number);
const quality = Number(process.argv[4] ?? 90);
sharp.concurrency(1);

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

/**
 * Times of `reader` and `full`, called alternately (so both see the same load from other
 * processes) `runs` times after three warm-up rounds (the reader's first calls run before the JIT
 * has compiled it): the fastest and the median of each.
 */
async function timeSideBySide(reader: () => unknown, full: () => Promise<unknown>): Promise<Record<'reader' | 'full', { min: number; median: number }>> {
  const times = { reader: [] as number[], full: [] as number[] };
  for (let i = 0; i < runs + 3; i++) {
    let t0 = performance.now();
    reader();
    if (i >= 3) times.reader.push(performance.now() - t0);
    t0 = performance.now();
    await full();
    if (i >= 3) times.full.push(performance.now() - t0);
  }
  const summary = (t: number[]) => (t.sort((x, y) => x - y), { min: t[0], median: t[t.length >> 1] });
  return { reader: summary(times.reader), full: summary(times.full) };
}

const rows: string[][] = [['file', 'KB', 'reader ms (min/med)', 'reader MB/s (min)', 'sharp ms (min/med)', 'sharp MB/s (min)', 'reader/sharp time (min, med)']];
for (const side of sides) {
  const pixels = picture(side);
  for (const progressive of [false, true]) {
    const file = await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
      .jpeg({ quality, progressive })
      .toBuffer();
    const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
    const t = await timeSideBySide(
      () => readJpegCoefficients(bytes),
      () => sharp(file).raw().toBuffer(),
    );
    const mbps = (ms: number): string => (file.length / 1e6 / (ms / 1000)).toFixed(1);
    rows.push([
      `${side}² q${quality} 4:2:0 ${progressive ? 'progressive' : 'baseline'}`,
      (file.length / 1024).toFixed(0),
      `${t.reader.min.toFixed(1)} / ${t.reader.median.toFixed(1)}`,
      mbps(t.reader.min),
      `${t.full.min.toFixed(1)} / ${t.full.median.toFixed(1)}`,
      mbps(t.full.min),
      `${(t.reader.min / t.full.min).toFixed(2)}, ${(t.reader.median / t.full.median).toFixed(2)}`,
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
