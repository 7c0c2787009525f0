/**
 * A synthetic forgery set built by the tests: textured "faces" with a fake rectangle or ellipse
 * whose texture differs (high-frequency stripes, shifted colour), its 0/255 mask, and the real
 * frame of the same id; written as PNGs with a manifest in the data pipeline's format.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/samples/rng.js';

export interface SyntheticSet {
  readonly dir: string;
  readonly manifest: string;
  /** fraction of real (0) pixels over the val split's images, reals included */
  readonly valRealPixelFraction: number;
}

export async function writeSyntheticSet(dir: string, o: { side: number; train: number; val: number; seed: number }): Promise<SyntheticSet> {
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  let valReal = 0;
  let valTotal = 0;
  for (const [split, count] of [
    ['train', o.train],
    ['val', o.val],
  ] as const) {
    for (let v = 0; v < count; v++) {
      const rng = new Rng(o.seed, split === 'train' ? 0 : 1, v);
      const S = o.side;
      const real = new Uint8Array(S * S * 3);
      const base = [rng.randint(60, 200), rng.randint(60, 200), rng.randint(60, 200)];
      const fx = rng.uniform(0.02, 0.08);
      const fy = rng.uniform(0.02, 0.08);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const shade = 30 * Math.sin(x * fx + y * fy);
          for (let c = 0; c < 3; c++) real[(y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + shade + rng.uniform(-4, 4))));
        }
      }
      const fake = new Uint8Array(real);
      const mask = new Uint8Array(S * S);
      const w = rng.randint(S / 3, (2 * S) / 3);
      const h = rng.randint(S / 3, (2 * S) / 3);
      const x0 = rng.randint(0, S - w);
      const y0 = rng.randint(0, S - h);
      const ellipse = rng.random() < 0.5;
      for (let y = y0; y < y0 + h; y++) {
        for (let x = x0; x < x0 + w; x++) {
          const dx = (x - x0 - w / 2) / (w / 2);
          const dy = (y - y0 - h / 2) / (h / 2);
          if (ellipse && dx * dx + dy * dy > 1) continue;
          mask[y * S + x] = 255;
          const stripe = ((x + y) & 2) === 0 ? 40 : -40;
          for (let c = 0; c < 3; c++) {
            const i = (y * S + x) * 3 + c;
            fake[i] = Math.max(0, Math.min(255, real[i] + stripe + (c === 0 ? 25 : 0)));
          }
        }
      }
      const video = String(v).padStart(3, '0');
      const src = String(v + 500).padStart(3, '0');
      const png = (data: Uint8Array, channels: 1 | 3) =>
        sharp(data, { raw: { width: S, height: S, channels } })
          .png()
          .toBuffer();
      const files = {
        real: join('crops', split, 'youtube', video, '000.png'),
        fake: join('crops', split, 'Deepfakes', `${video}_${src}`, '000.png'),
        mask: join('masks', split, 'Deepfakes', `${video}_${src}`, '000.png'),
      };
      for (const f of Object.values(files)) await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, files.real), await png(real, 3));
      await writeFile(join(dir, files.fake), await png(fake, 3));
      await writeFile(join(dir, files.mask), await png(mask, 1));
      const common = { split, compression: 'c23', frame: 0 };
      lines.push(JSON.stringify({ ...common, method: 'youtube', video, image: files.real, mask: null, label: 0 }));
      lines.push(JSON.stringify({ ...common, method: 'Deepfakes', video: `${video}_${src}`, image: files.fake, mask: files.mask, label: 1 }));
      if (split === 'val') {
        const fakePixels = mask.reduce((n, m) => n + (m === 255 ? 1 : 0), 0);
        valReal += 2 * S * S - fakePixels;
        valTotal += 2 * S * S;
      }
    }
  }
  const manifest = join(dir, 'manifest.jsonl');
  await writeFile(manifest, `${lines.join('\n')}\n`);
  return { dir, manifest, valRealPixelFraction: valReal / valTotal };
}

/** The smallest benchmark training config on a synthetic set: ResNet-18 MSCCNet at 64², one AdamW step per run, tested on val. */
export function oneStepBenchmarkConfig(manifest: string, methods: readonly string[] = ['Deepfakes']) {
  return {
    data: { manifest, compression: 'c23', methods: [...methods], augment: 'paper', workers: 0, prefetch: 1, testSplit: 'val' },
    model: { backboneDepth: 18, inputSize: 64, featsChannels: 64, dct: 'paper' },
    batchSize: 2,
    epochs: 1,
    optim: { optimizer: 'adamw', lr: 1e-3 },
    run: { threads: 2, valEveryEpochs: 1000, maxSteps: 1 },
  };
}
