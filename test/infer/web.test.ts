/**
 * The browser engine (infer/web.ts) run in Node: onnxruntime-web's wasm backend on a registered
 * method's export. The file's metadata alone sets the input side and preprocessing (HP-FCN: x / 255,
 * not MSCCNet's ImageNet normalisation), and the score equals libtorch's on the same input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { buildMethod } from '../../src/models/registry.js';
import { exportMethod } from '../../src/onnx/method.js';
import { OnnxModelError } from '../../src/onnx/errors.js';
import { officialPreprocess, preprocess } from '../../src/image/preprocess.js';
import { createWebEngine } from '../../src/infer/web.js';
import { metadataPreprocessing, onnxModelInfo } from '../../src/infer/metadata.js';
import { analyze, fakeProbability, type RgbImage } from '../../src/infer/pipeline.js';
import { torch } from '../../src/torch/index.js';

/** An ONNX ModelProto with only metadata_props: what the readers see, without an exporter. */
const metadataOnly = (props: Record<string, string>): Uint8Array =>
  onnxProto.onnx.ModelProto.encode({ irVersion: 8, metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })) }).finish();

/** A deterministic 80×60 RGB picture (gradients), larger than the model side so the resize runs. */
function picture(): RgbImage {
  const width = 80,
    height = 60,
    data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 3) & 255;
      data[i + 1] = (y * 4) & 255;
      data[i + 2] = ((x + y) * 5) & 255;
    }
  return { width, height, data };
}

test('the preprocessing comes from the metadata: JSON, the per-key form, or the official one', () => {
  const keys = { inputSize: '64', channelOrder: 'bgr', mean: '1,2,3', std: '4,5,6' };
  assert.deepEqual(onnxModelInfo(metadataOnly(keys), 'k.onnx').preprocess, {
    inputSize: 64,
    channelOrder: 'bgr',
    mean: [1, 2, 3],
    std: [4, 5, 6],
    resize: 'cv2-linear',
  });
  assert.deepEqual(metadataPreprocessing({ preprocessing: JSON.stringify(officialPreprocess(512)) }, 96, 'j.onnx'), officialPreprocess(96));
  assert.deepEqual(onnxModelInfo(metadataOnly({ inputSize: '32' }), 'o.onnx'), {
    metadata: { inputSize: '32' },
    inputSide: 32,
    preprocess: officialPreprocess(32),
  });
  assert.throws(
    () => onnxModelInfo(metadataOnly({ method: 'x' }), 'n.onnx'),
    (err: unknown) => err instanceof OnnxModelError && /inputSize/.test(err.message),
  );
  assert.throws(
    () => onnxModelInfo(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'junk.onnx'),
    (err: unknown) => err instanceof OnnxModelError && /not an ONNX file/.test(err.message),
  );
});

test('createWebEngine runs a non-MSCCNet method with its own preprocessing, matching libtorch', async () => {
  const model = buildMethod('hpfcn', { inputSize: 64 }).eval();
  const spec = model.preprocessing;
  assert.notDeepEqual(spec.mean, officialPreprocess(64).mean, "the test needs a method whose normalisation differs from MSCCNet's");
  const engine = await createWebEngine(exportMethod(model).bytes, 'hpfcn.onnx', { device: 'wasm' });
  try {
    assert.equal(engine.inputSide, 64);
    assert.deepEqual(engine.preprocess, { ...spec, mean: [...spec.mean], std: [...spec.std] });
    assert.match(engine.name, /^onnxruntime-web .*\(wasm\)$/);
    const image = picture();
    const whole = { box: { x: 0, y: 0, width: image.width, height: image.height }, detectorScore: null };
    const got = await analyze(engine, image, [whole]);
    const scoreOf = (input: Float32Array) =>
      torch.tidy(() =>
        torch.noGrad(() => fakeProbability(model.forward(torch.fromTypedArray(input, [1, 3, 64, 64])).imgLogits.toTypedArray() as Float32Array)),
      );
    const want = scoreOf(preprocess(image, spec));
    assert.ok(Math.abs(got.score - want) < 1e-5, `web ${got.score} vs libtorch ${want}`);
    const official = scoreOf(preprocess(image, officialPreprocess(64)));
    assert.ok(Math.abs(got.score - official) > 1e-3, `MSCCNet's normalisation would score ${official}, too close to tell apart`);
  } finally {
    await engine.release();
    model.dispose();
  }
});
