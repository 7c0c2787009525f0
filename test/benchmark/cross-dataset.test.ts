import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { defactoManifest, defactoMaskPath } from '../../src/data/defacto.js';
import { formatManifest } from '../../src/data/manifest.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { protocolPlans, testSamples } from '../../src/benchmark/protocols.js';
import { createTorchEngine } from '../../src/infer/engines.js';
import { applyDetfill } from '../../src/models/detfill.js';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { parseTrainConfig } from '../../src/train/config.js';

const png = (data: Uint8Array, side: number, channels: 1 | 3): Promise<Buffer> =>
  sharp(data, { raw: { width: side, height: side, channels } })
    .png()
    .toBuffer();

/**
 * A tiny folder in DEFACTO's face-swap layout (official-spec §8.3): Image/fake/<name>.tif with its
 * mask at Mask/fake/<name> (the last 4 characters dropped), Image/real/<name>. Returns the counts.
 */
async function writeDefacto(root: string, side: number): Promise<{ fakes: number; reals: number }> {
  const fakes = ['0.jpg_IN_1.jpg.tif', '1.jpg_IN_2.jpg.tif', '7.jpg_IN_3.jpg.tif'];
  const reals = ['r0.jpg', 'r1.jpg'];
  for (const d of ['Image/fake', 'Image/real', 'Mask/fake']) await mkdir(join(root, d), { recursive: true });
  const image = new Uint8Array(side * side * 3).map((_, i) => (i * 37) % 251);
  const mask = new Uint8Array(side * side).map((_, i) => (i % side < side / 2 ? 255 : 0));
  for (const f of fakes) {
    await writeFile(join(root, 'Image/fake', f), await png(image, side, 3));
    await writeFile(defactoMaskPath(join(root, 'Image/fake', f)), await png(mask, side, 1));
  }
  for (const f of reals) await writeFile(join(root, 'Image/real', f), await png(image, side, 3));
  return { fakes: fakes.length, reals: reals.length };
}

test("cross-dataset (Table 3) tests on every fake and real of the target dataset, whatever FF++'s methods and compression", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-cross-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const side = 64;
  const counts = await writeDefacto(join(dir, 'defacto'), side);
  const { entries, skipped } = await defactoManifest(join(dir, 'defacto'), dir);
  assert.deepEqual(skipped, []);
  const manifest = join(dir, 'defacto.jsonl');
  await writeFile(manifest, formatManifest(entries));

  // the FF++ training config: five methods, C40, its own manifest
  const config = parseTrainConfig({ data: { manifest: join(dir, 'ffpp.jsonl'), cropSize: side }, model: { inputSize: side } });
  const [plan, ...more] = protocolPlans('cross-dataset', config, { outDir: join(dir, 'runs'), testManifest: manifest });
  assert.equal(more.length, 0);
  assert.equal(plan!.train.data.compression, 'c40');
  const { samples } = await testSamples(plan!.test);
  assert.equal(samples.filter((s) => s.label === 1).length, counts.fakes, 'every DEFACTO fake is tested');
  assert.equal(samples.filter((s) => s.label === 0).length, counts.reals, 'every DEFACTO real is tested');

  // and the evaluation runs on them at their own size, with their own masks
  const model = buildMsccnet('msccnet', { inputSize: side, backboneDepth: 18, featsChannels: 64, dct: 'paper' }).eval();
  applyDetfill(model);
  const engine = createTorchEngine(model);
  t.after(() => engine.release());
  const r = await evaluate(engine, samples, { batchSize: 2 });
  assert.deepEqual([r.counts.fake, r.counts.real], [counts.fakes, counts.reals]);
  const gtFake = r.confusion[1][0] + r.confusion[1][1];
  assert.equal(gtFake, counts.fakes * side * (side / 2), 'fake pixels come from the DEFACTO masks');
});
