import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { F, torch } from '../../src/torch/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { exportMethod } from '../../src/onnx/index.js';
import { createOrtEngine, createTorchEngine, detectFiles, type InferenceEngine } from '../../src/infer/index.js';
import { catnetInput, readJpegCoefficients, type CatnetInput } from '../../src/image/jpeg/index.js';
import { catnetInputFromBytes } from '../../src/image/catnet-source.js';
import { makeImage } from '../../src/image/image.js';
import { evaluateInto } from '../../src/eval/evaluate.js';
import type { Sample } from '../../src/samples/dataset.js';
import type { MethodModel } from '../../src/models/method.js';
import { startServer } from '../web/helpers.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { smallCatnet } from '../helpers/catnet-small.js';

// CAT-Net at small widths and a 64² input, random weights: a 291×197 JPEG is 4 × 5 tiles.
const SIDE = 64;
const SMALL = smallCatnet(SIDE);
const JPEG = join(fixtureDir('baseline-parity'), 'catnet', 'jpeg', 'chelsea_420_q75.jpg');

let dir: string;
let model: MethodModel;
let onnx: Uint8Array;
let onnxPath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msccnet-catnet-bytes-'));
  model = buildMethod('catnet', SMALL).eval();
  // fan-in scaled random convolutions, BN near identity: an output that varies over the image
  torch.manualSeed(4);
  torch.noGrad(() => {
    for (const [k, t] of model.stateDict()) {
      if (t.dtype !== 'float32') continue;
      if (t.ndim === 4) t.uniform_(-1, 1).mul_(Math.sqrt(3 / (t.shape[1] * t.shape[2] * t.shape[3])));
      else if (k.endsWith('running_var')) t.uniform_(0.8, 1.2);
      else if (k.endsWith('.weight')) t.uniform_(0.8, 1.2);
      else t.uniform_(-0.1, 0.1);
    }
  });
  onnx = exportMethod(model).bytes;
  onnxPath = join(dir, 'catnet.onnx');
  await writeFile(onnxPath, onnx);
});
after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The truth, computed apart from the pipeline: the model's libtorch forward on each 64² tile of
 * the 8-pixel grid (origins in steps of 64 from 0), its logits upsampled by torch's bilinear
 * (align_corners false) and softmaxed; the score is the largest tile P(fake), the map pasted.
 */
function expected(width: number, height: number, tile: (row: number, col: number) => CatnetInput): { score: number; probability: Float32Array } {
  const probability = new Float32Array(width * height);
  let score = 0;
  for (let row = 0; row < height; row += SIDE) {
    for (let col = 0; col < width; col += SIDE) {
      const t = tile(row, col);
      const plane = SIDE * SIDE;
      torch.tidy(() =>
        torch.noGrad(() => {
          const out = model.forwardWith!(torch.fromTypedArray(t.x.slice(0, 3 * plane), [1, 3, SIDE, SIDE]), {
            dctVolume: torch.fromTypedArray(t.x.slice(3 * plane), [1, 21, SIDE, SIDE]),
            qtable: torch.fromTypedArray(t.qtable, [1, 1, 8, 8]),
          });
          score = Math.max(score, (out.imgLogits.softmax(1).toTypedArray() as Float32Array)[1]);
          const p = F.interpolate(out.maskLogits, { size: [SIDE, SIDE], mode: 'bilinear', alignCorners: false })
            .softmax(1)
            .select(1, 1);
          const map = p.toTypedArray() as Float32Array;
          for (let y = row; y < Math.min(row + SIDE, height); y++)
            for (let x = col; x < Math.min(col + SIDE, width); x++) probability[y * width + x] = map[(y - row) * SIDE + x - col];
        }),
      );
    }
  }
  return { score, probability };
}

/** A libtorch engine on a copy of the model's weights (the engine disposes of its model). */
function torchEngine(): InferenceEngine {
  const copy = buildMethod('catnet', SMALL);
  copy.loadStateDict(model.stateDict());
  return createTorchEngine(copy.eval());
}

/** Pixels where two binary masks differ, leaving out those whose expected P(fake) is within 1e-3 of the threshold. */
function maskMismatches(mask: Uint8Array, probability: Float32Array): number {
  let n = 0;
  probability.forEach((p, i) => {
    if (Math.abs(p - 0.5) > 1e-3 && (mask[i] === 255) !== p > 0.5) n++;
  });
  return n;
}

async function detectOne(engine: InferenceEngine, path: string, out: string): Promise<{ score: number; mask: Uint8Array; warnings: string[] }> {
  const [r] = await detectFiles(engine, [{ path, stem: 'x' }], { outDir: join(dir, out), noFace: true });
  assert.ok(r.ok && r.kind === 'image', JSON.stringify(r));
  const mask = await sharp(r.outputs.mask).extractChannel(0).raw().toBuffer();
  return { score: r.score, mask: new Uint8Array(mask), warnings: r.warnings };
}

test('catnet reads a JPEG file with its own coefficients through detect, on onnxruntime and libtorch alike', async () => {
  const bytes = new Uint8Array(await readFile(JPEG));
  const jpeg = readJpegCoefficients(bytes);
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const rgb = makeImage(info.width, info.height, 3, new Uint8Array(data));
  const want = expected(info.width, info.height, (row, col) => catnetInput(rgb, jpeg, { cropSize: [SIDE, SIDE], cropOrigin: [row, col] }));

  const ort = await createOrtEngine(onnx, 'catnet.onnx', { threads: 1 });
  assert.deepEqual(ort.jpegInput, { jpegQuality: 100 });
  const viaOrt = await detectOne(ort, JPEG, 'ort');
  await ort.release();
  const viaTorch = await detectOne(torchEngine(), JPEG, 'torch');
  for (const [name, got] of [
    ['onnxruntime', viaOrt],
    ['libtorch', viaTorch],
  ] as const) {
    assert.ok(Math.abs(got.score - want.score) < 1e-4, `${name}: score ${got.score} vs ${want.score}`);
    assert.equal(maskMismatches(got.mask, want.probability), 0, `${name}: mask`);
    assert.deepEqual(got.warnings, []);
  }
  const area = viaOrt.mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);
  assert.ok(area > 0 && area < viaOrt.mask.length, `the mask is neither empty nor full (${area} px)`);
});

test('a PNG of the same pixels is read at the recorded re-encode (quality 100, 4:4:4), so its coefficients differ from the JPEG', async () => {
  const png = join(dir, 'chelsea.png');
  await sharp(JPEG).png().toFile(png);
  const pngBytes = new Uint8Array(await readFile(png));
  const { width = 0, height = 0 } = await sharp(png).metadata();
  const inputs = new Map<string, CatnetInput>();
  for (let row = 0; row < height; row += SIDE) {
    for (let col = 0; col < width; col += SIDE) {
      inputs.set(`${row},${col}`, await catnetInputFromBytes(pngBytes, { jpegQuality: 100, cropSize: [SIDE, SIDE], cropOrigin: [row, col] }));
    }
  }
  const want = expected(width, height, (row, col) => inputs.get(`${row},${col}`)!);
  const engine = await createOrtEngine(onnx, 'catnet.onnx', { threads: 1 });
  const got = await detectOne(engine, png, 'png');
  const fromJpeg = await detectOne(engine, JPEG, 'jpeg');
  await engine.release();
  assert.ok(Math.abs(got.score - want.score) < 1e-4, `score ${got.score} vs ${want.score}`);
  assert.equal(maskMismatches(got.mask, want.probability), 0);
  assert.ok(
    Math.abs(got.score - fromJpeg.score) > 1e-4 ||
      maskMismatches(
        got.mask,
        new Float32Array(fromJpeg.mask).map((v) => v / 255),
      ) > 0,
  );
});

test('the same JPEG gives the same score and mask through detect, serve and evaluate (onnxruntime and libtorch)', async () => {
  const engine = await createOrtEngine(onnx, 'catnet.onnx', { threads: 1 });
  const viaDetect = await detectOne(engine, JPEG, 'detect');

  const server = await startServer(onnx);
  try {
    const form = new FormData();
    form.append('image', new Blob([await readFile(JPEG)]), 'chelsea.jpg');
    const res = await fetch(`${server.url}/api/detect?face=false&images=mask`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { score: number; warnings: string[]; images: { mask: string } };
    assert.ok(Math.abs(body.score - viaDetect.score) < 1e-6, `serve ${body.score} vs detect ${viaDetect.score}`);
    const mask = new Uint8Array(
      await sharp(Buffer.from(body.images.mask.split(',')[1], 'base64'))
        .extractChannel(0)
        .raw()
        .toBuffer(),
    );
    assert.deepEqual(mask, viaDetect.mask);
    assert.deepEqual(body.warnings, []);
  } finally {
    await server.app.close();
  }

  // evaluate: an all-real ground truth, so the confusion's N01 is the mask's area
  const sample: Sample = { id: 'a_b_c', image: JPEG, mask: null, label: 0, method: 'real', compression: 'raw', split: 'test', video: 'v', frame: 0 };
  const area = viaDetect.mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);
  // onnxruntime decoding inline, libtorch on a loader thread (the JPEG source crosses the thread boundary)
  for (const [e, workers] of [
    [engine, 0],
    [torchEngine(), 1],
  ] as const) {
    const [record] = (await evaluateInto(e, [sample], { batchSize: 8, workers, evaluatorOptions: { pixelAuc: false } })).state().records;
    assert.ok(Math.abs(record.score - viaDetect.score) < 1e-4, `${e.name}: evaluate ${record.score} vs detect ${viaDetect.score}`);
    assert.ok(Math.abs(record.confusion[1] - area) <= 2, `${e.name}: evaluate's fake pixels ${record.confusion[1]} vs the mask's ${area}`);
    await e.release();
  }
});
