import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { torch } from '../../src/torch/index.js';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { applyDetfill } from '../../src/models/detfill.js';
import { exportMsccnet, readMetadata, type Precision } from '../../src/onnx/index.js';

/** max |onnx − libtorch| / max |libtorch| per output. */
async function relativeErrors(variant: string, overrides: Parameters<typeof buildMsccnet>[1], batch: number, precision: Precision = 'fp32') {
  const model = buildMsccnet(variant, overrides).eval();
  applyDetfill(model);
  const side = model.config.inputSize;
  const exported = exportMsccnet(model, { precision, metadata: { variant } });
  torch.manualSeed(7);
  const x = torch.randn([batch, 3, side, side]);
  const ref = torch.noGrad(() => model.forward(x));
  const session = await ort.InferenceSession.create(exported.bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ image: new ort.Tensor('float32', x.toTypedArray() as Float32Array, [batch, 3, side, side]) });
  const errors: Record<string, number> = {};
  for (const [name, r] of [
    ['image_logits', ref.imgLogits],
    ['mask_logits', ref.maskLogits],
  ] as const) {
    assert.deepEqual(out[name].dims, r.shape, `${name} shape`);
    const got = out[name].data as Float32Array;
    const want = r.toTypedArray() as Float32Array;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    errors[name] = diff / scale;
  }
  await session.release();
  const metadata = readMetadata(exported.bytes);
  model.dispose();
  return { errors, metadata, exported };
}

// The reference configuration at the smallest input whose DCT side (8) keeps every op of the
// 512² graph (dilated os8 backbone, MFA, 64-basis DCT, GCN, concat fusion); batch 3 ≠ the traced 2.
test('reference MSCCNet (detfill weights, 64²): ONNX matches libtorch within 1e-4 relative', async (t) => {
  const { errors, metadata } = await relativeErrors('msccnet', { inputSize: 64 }, 3);
  t.diagnostic(`relative errors ${JSON.stringify(errors)}`);
  for (const [name, e] of Object.entries(errors)) assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  assert.equal(JSON.parse(metadata.config).groups, 4);
  assert.equal(metadata.variant, 'msccnet');
  assert.equal(metadata.precision, 'fp32');
});

test('small variant (ResNet-18, C = 64, paper DCT N = 16, add fusion, 96²) matches within 1e-4, batch 1', async (t) => {
  const { errors } = await relativeErrors('paper-n16', { inputSize: 96, backboneDepth: 18, featsChannels: 64, fusion: 'add' }, 1);
  t.diagnostic(`relative errors ${JSON.stringify(errors)}`);
  for (const [name, e] of Object.entries(errors)) assert.ok(e < 1e-4, `${name}: relative error ${e}`);
});

test('fp16 storage halves the weights and stays close; int8 quantises every large conv', async () => {
  const small = { inputSize: 64, backboneDepth: 18 as const, featsChannels: 64, dct: 'paper' as const };
  const fp32 = await relativeErrors('msccnet', small, 1);
  const fp16 = await relativeErrors('msccnet', small, 1, 'fp16');
  assert.ok(fp16.exported.bytes.length < 0.55 * fp32.exported.bytes.length, 'fp16 file is about half');
  for (const [name, e] of Object.entries(fp16.errors)) assert.ok(e < 1e-2, `fp16 ${name}: relative error ${e}`);
  const int8 = await relativeErrors('msccnet', small, 1, 'int8-dynamic');
  assert.ok(int8.exported.quantizedConvs > 20, `quantised ${int8.exported.quantizedConvs} convs`);
  assert.ok(int8.exported.bytes.length < 0.4 * fp32.exported.bytes.length, 'int8 file is about a quarter');
  assert.ok(Number.isFinite(int8.errors.image_logits));
});
