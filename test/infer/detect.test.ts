import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { applyDetfill } from '../../src/models/detfill.js';
import { exportMsccnet } from '../../src/onnx/index.js';
import {
  analyze,
  collectInputs,
  createOrtEngine,
  createTorchEngine,
  detectFiles,
  DetectResultJson,
  type DetectResult,
  type RgbImage,
} from '../../src/infer/index.js';

// A small MSCCNet (ResNet-18, C = 64, 128² input) with detfill weights: every stage of the
// pipeline runs, in seconds. The scores mean nothing; the files, sizes and errors do.
const config = { inputSize: 128, backboneDepth: 18 as const, featsChannels: 64, dct: 'paper' as const };
const samples = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');

async function smallOrtEngine() {
  const model = buildMsccnet('msccnet', config).eval();
  applyDetfill(model);
  const { bytes } = exportMsccnet(model, { metadata: { variant: 'msccnet', weights: 'detfill-v1' } });
  return { model, engine: await createOrtEngine(bytes, 'small.onnx', { threads: 1 }) };
}

async function pngSize(path: string): Promise<[number, number]> {
  const m = await sharp(path).metadata();
  return [m.width!, m.height!];
}

test('detect on a folder of face images and a short video: outputs exist, JSON validates, overlays keep the input size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-detect-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const faces = join(dir, 'faces');
  await mkdir(join(faces, 'sub'), { recursive: true });
  await copyFile(join(samples, 'sample2.jpg'), join(faces, 'sample2.jpg'));
  await copyFile(join(samples, 'sample6.jpg'), join(faces, 'sub', 'sample6.jpg'));
  // a 1.2 s clip of a face photo, 10 fps, made here with the system ffmpeg
  const video = join(faces, 'clip.mp4');
  const ff = spawnSync('ffmpeg', [
    '-v',
    'error',
    '-loop',
    '1',
    '-i',
    join(samples, 'sample2.jpg'),
    '-t',
    '1.2',
    '-r',
    '10',
    '-vf',
    'scale=480:-2',
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    video,
  ]);
  assert.equal(ff.status, 0, ff.stderr.toString());

  const { engine } = await smallOrtEngine();
  t.after(() => engine.release());
  const inputs = await collectInputs([faces]);
  assert.deepEqual(
    inputs.map((i) => i.stem),
    ['faces/clip', 'faces/sample2', 'faces/sub/sample6'],
  );
  const events: string[] = [];
  const out = join(dir, 'out');
  const results = await detectFiles(engine, inputs, { outDir: out, maxFrames: 3, onEvent: (e) => events.push(e.kind) });
  assert.equal(events.filter((k) => k === 'result').length, 3);
  for (const r of results) {
    assert.ok(r.ok, `${r.input}: ${r.ok ? '' : r.error.message}`);
    const onDisk = DetectResultJson.parse(JSON.parse(await readFile(r.outputs.json, 'utf8')));
    assert.equal(onDisk.ok && onDisk.score, r.score);
    assert.deepEqual(await pngSize(r.outputs.overlay), [r.width, r.height]);
    assert.deepEqual(await pngSize(r.outputs.mask), [r.width, r.height]);
    if (r.kind === 'image') {
      assert.deepEqual([r.width, r.height], await pngSize(r.input), 'overlay has the input size');
      assert.ok(r.faces.length >= 1 && r.faces.every((f) => f.detectorScore !== null && f.detectorScore > 0.5));
    } else {
      assert.equal(r.frames.length, 3);
      assert.ok(Math.abs(r.score - r.frames.reduce((s, f) => s + f.score, 0) / 3) < 1e-12, 'video score = mean frame score');
    }
  }
});

test('bad inputs are per-input errors with a hint, and the batch continues', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-detect-bad-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = {
    empty: join(dir, 'empty.png'),
    text: join(dir, 'notes.jpg'),
    blank: join(dir, 'blank.png'),
    video: join(dir, 'broken.mp4'),
    huge: join(dir, 'huge.png'),
    good: join(dir, 'good.jpg'),
  };
  await writeFile(files.empty, Buffer.alloc(0));
  await writeFile(files.text, 'not an image');
  await sharp({ create: { width: 200, height: 160, channels: 3, background: { r: 120, g: 120, b: 120 } } })
    .png()
    .toFile(files.blank);
  await writeFile(files.video, 'not a video either');
  await sharp({ create: { width: 3000, height: 400, channels: 3, background: { r: 200, g: 90, b: 40 } } })
    .png()
    .toFile(files.huge);
  await copyFile(join(samples, 'sample3.jpg'), files.good);
  const { engine } = await smallOrtEngine();
  t.after(() => engine.release());

  const order = [files.empty, files.text, files.blank, files.video, files.good];
  const results = await detectFiles(engine, await collectInputs(order), { outDir: join(dir, 'out') });
  const byInput = new Map<string, DetectResult>(results.map((r) => [r.input, r]));
  const code = (p: string) => {
    const r = byInput.get(p)!;
    return r.ok ? 'ok' : r.error.code;
  };
  assert.equal(code(files.empty), 'MSCCNET_INPUT_FILE');
  assert.match((byInput.get(files.empty) as { error: { message: string } }).error.message, /empty/);
  assert.equal(code(files.text), 'MSCCNET_INPUT_FILE');
  assert.equal(code(files.blank), 'MSCCNET_NO_FACE');
  assert.match((byInput.get(files.blank) as { error: { hint: string } }).error.hint, /--no-face/);
  assert.equal(code(files.video), 'MSCCNET_VIDEO');
  assert.equal(code(files.good), 'ok', 'the batch went on after the bad inputs');
  for (const r of results) DetectResultJson.parse(r);

  const warnings: string[] = [];
  const [huge] = await detectFiles(engine, await collectInputs([files.huge]), {
    outDir: join(dir, 'out'),
    noFace: true,
    maxSide: 1000,
    onEvent: (e) => {
      if (e.kind === 'warning') warnings.push(e.message);
    },
  });
  assert.ok(huge.ok && huge.kind === 'image');
  assert.deepEqual([huge.width, huge.height], [1000, 133]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /downscaled/);
  assert.deepEqual(await pngSize(huge.outputs.overlay), [1000, 133]);
});

test('--engine torch and onnxruntime give the same numbers through the shared pipeline', async () => {
  const { model, engine } = await smallOrtEngine();
  const torchEngine = createTorchEngine(model);
  const { data, info } = await sharp(join(samples, 'sample4.jpg')).resize(300).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image: RgbImage = { width: info.width, height: info.height, data: new Uint8Array(data) };
  const regions = [{ box: { x: 0, y: 0, width: image.width, height: image.height }, detectorScore: null }];
  const [a, b] = [await analyze(engine, image, regions), await analyze(torchEngine, image, regions)];
  assert.ok(Math.abs(a.score - b.score) < 1e-5, `${a.score} vs ${b.score}`);
  let maxDiff = 0;
  for (let i = 0; i < a.probability.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.probability[i] - b.probability[i]));
  assert.ok(maxDiff < 1e-4, `probability maps differ by ${maxDiff}`);
  await engine.release();
  await torchEngine.release();
});
