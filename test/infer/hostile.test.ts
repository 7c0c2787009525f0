/**
 * detect under hostile input (issue 19): inputs sharing a base name never share outputs, a model
 * that yields NaN fails the input, devices and oversized images are refused before decoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { collectInputs, detectFiles, type EngineOutput, type InferenceEngine } from '../../src/infer/index.js';
import { InputFileError } from '../../src/errors.js';

/** An engine with fixed logits (K = 2, 4² mask). */
const stubEngine = (value: number): InferenceEngine => ({
  inputSide: 32,
  name: 'stub',
  release: async () => {},
  run: async (_input: Float32Array, batch: number): Promise<EngineOutput> => ({
    imageLogits: new Float32Array(batch * 2).fill(value),
    maskLogits: new Float32Array(batch * 2 * 16).fill(value),
    classes: 2,
    maskSide: 4,
  }),
});

const png = (w: number, h: number, grey: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: grey, g: grey, b: grey } } })
    .png()
    .toBuffer();

test('defect 2: inputs that share a base name get distinct, stable output names', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-detect-names-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const sub of ['a', 'b', 'c/faces', 'd/faces']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'a', 'x.png'), await png(40, 30, 10));
  await writeFile(
    join(dir, 'b', 'x.jpg'),
    await sharp(await png(40, 30, 200))
      .jpeg()
      .toBuffer(),
  );
  await writeFile(join(dir, 'b', 'x.mp4'), 'not really a video');
  await writeFile(join(dir, 'same.png'), await png(40, 30, 60));
  await writeFile(
    join(dir, 'same.jpg'),
    await sharp(await png(40, 30, 120))
      .jpeg()
      .toBuffer(),
  );
  await writeFile(join(dir, 'c/faces', 'p.png'), await png(40, 30, 90));
  await writeFile(join(dir, 'd/faces', 'p.png'), await png(40, 30, 150));
  const args = ['a/x.png', 'b/x.jpg', 'b/x.mp4', 'same.png', 'same.jpg', 'c/faces', 'd/faces'].map((p) => join(dir, p));
  const inputs = await collectInputs(args);
  assert.equal(inputs.length, 7);
  assert.equal(new Set(inputs.map((i) => i.stem)).size, 7, inputs.map((i) => i.stem).join(' '));
  assert.deepEqual(
    (await collectInputs(args)).map((i) => i.stem),
    inputs.map((i) => i.stem),
    'stable from run to run',
  );
  assert.equal((await collectInputs([join(dir, 'same.png'), join(dir, 'same.png')])).length, 1, 'one input given twice is one input');

  const out = join(dir, 'out');
  const results = await detectFiles(
    stubEngine(0),
    inputs.filter((i) => !i.path.endsWith('.mp4')),
    { outDir: out, noFace: true },
  );
  const jsons = new Set<string>();
  for (const r of results) {
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    jsons.add(r.outputs.json);
    assert.equal(JSON.parse(await readFile(r.outputs.json, 'utf8')).input, r.input, "each report on disk is its own input's");
  }
  assert.equal(jsons.size, 6);
});

test('defect 6: a model that yields NaN fails the input (MSCCNET_NON_FINITE), no "real" label', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-detect-nan-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'x.png'), await png(40, 30, 10));
  const [r] = await detectFiles(stubEngine(Number.NaN), await collectInputs([join(dir, 'x.png')]), { outDir: join(dir, 'out'), noFace: true });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.code, 'MSCCNET_NON_FINITE');
});

test('defect 7: devices are not read; images over maxPixels are refused before decoding', async (t) => {
  await assert.rejects(collectInputs(['/dev/zero']), (err: unknown) => err instanceof InputFileError && /regular file/.test(err.message));
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-detect-pixels-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'wide.png'), await png(400, 300, 10));
  const [r] = await detectFiles(stubEngine(0), await collectInputs([join(dir, 'wide.png')]), { outDir: join(dir, 'out'), noFace: true, maxPixels: 100_000 });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error.message : '', /400×300.*megapixel/);
  assert.match(!r.ok ? r.error.hint : '', /--max-megapixels/);
});
