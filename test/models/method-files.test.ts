import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildMethod, loadModelFile, methodDefinition, modelFileMetadata, WeightsError, type MethodModel } from '../../src/models/index.js';
import { SGD } from '../../src/nn/index.js';
import { readMetadata } from '../../src/onnx/index.js';
import { openEngine, ModelChoiceError } from '../../src/infer/engines.js';
import { preprocess } from '../../src/image/preprocess.js';
import { torch, type Tensor } from '../../src/torch/index.js';
import { RNG_SCHEME, saveCheckpoint } from '../../src/train/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { relativeError } from '../helpers/onnx-parity.js';
import { writePth } from '../helpers/pth-write.js';

const SIDE = 64;

function outputs(model: MethodModel, x: Tensor): { img: Float32Array; mask: Float32Array } {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.eval().forward(x);
      return { img: out.imgLogits.toTypedArray() as Float32Array, mask: out.maskLogits.toTypedArray() as Float32Array };
    }),
  );
}

/** A 64² RGB test picture (a gradient with a brighter square), as PNG bytes and raw RGB. */
async function picture(dir: string): Promise<{ path: string; rgb: Uint8Array }> {
  const rgb = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const inside = x > 16 && x < 48 && y > 20 && y < 44;
      rgb.set([(x * 4) & 255, (y * 4) & 255, inside ? 230 : 90], (y * SIDE + x) * 3);
    }
  const path = join(dir, 'face.png');
  await writeFile(
    path,
    await sharp(rgb, { raw: { width: SIDE, height: SIDE, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return { path, rgb };
}

test(
  "an HP-FCN checkpoint is a self-describing model file: loadModelFile rebuilds it with the same outputs; export → onnxruntime equals libtorch through detect's engines",
  { timeout: 300_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-method-files-'));
    try {
      torch.manualSeed(5);
      const model = buildMethod('hpfcn', { inputSize: SIDE });
      const state = { step: 1, epoch: 0, seed: 5, rng: RNG_SCHEME, mIoU: null, bestMIoU: null, worldSize: 1, savedAt: new Date(0).toISOString() };
      const ckpt = await saveCheckpoint(
        join(dir, 'checkpoints'),
        'step-00000001',
        model,
        new SGD(model.parameters(), { lr: 0.1 }),
        state,
        modelFileMetadata(model),
      );
      const x = torch.keep(torch.randn([2, 3, SIDE, SIDE]));
      const want = outputs(model, x);

      const loaded = await loadModelFile(ckpt);
      assert.equal(loaded.described, true);
      assert.deepEqual([loaded.info.method, loaded.info.variant, loaded.info.inputSize], ['hpfcn', 'hpfcn', SIDE]);
      assert.deepEqual(loaded.info.config, { inputSize: SIDE, focalGamma: 2, pretrained: null });
      assert.deepEqual(loaded.info.preprocessing, model.preprocessing);
      const got = outputs(loaded.model, x);
      assert.deepEqual(got.img, want.img);
      assert.deepEqual(got.mask, want.mask);
      loaded.model.dispose();

      // `msccnet export` of the file: the ONNX metadata names the method and its preprocessing (HP-FCN: x / 255, not ImageNet's)
      const onnx = join(dir, 'hpfcn.onnx');
      const exported = await runCli(['export', '--weights', ckpt, '-o', onnx]);
      assert.equal(exported.code, 0, exported.stderr);
      const metadata = readMetadata(await readFile(onnx));
      assert.equal(metadata.method, 'hpfcn');
      assert.deepEqual(JSON.parse(metadata.preprocessing), model.preprocessing);
      // detect's engines: onnxruntime on the export, libtorch on the weights; both state the method's preprocessing
      const { rgb } = await picture(dir);
      const ort = await openEngine(onnx);
      const lt = await openEngine(ckpt, { engine: 'torch' });
      for (const engine of [ort, lt]) assert.deepEqual({ ...engine.preprocess }, { ...model.preprocessing }, engine.name);
      const input = preprocess({ width: SIDE, height: SIDE, data: rgb }, ort.preprocess!);
      assert.ok(Math.abs(input[0] - rgb[0] / 255) < 1e-6, 'HP-FCN input is x / 255');
      const [a, b] = [await ort.run(input, 1), await lt.run(input, 1)];
      for (const key of ['imageLogits', 'maskLogits'] as const) {
        assert.equal(a[key].length, b[key].length);
        const error = relativeError(a[key], b[key]);
        assert.ok(error <= 1e-4, `${key === 'imageLogits' ? 'image' : 'mask'} logits: relative error ${error}`);
      }
      await ort.release();
      await lt.release();
      model.dispose();
      torch.dispose([x]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test("`detect --method hpfcn` runs a .pth with HP-FCN's official names (no image head: the paper's adaptation)", { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-method-pth-'));
  try {
    torch.manualSeed(9);
    const model = buildMethod('hpfcn', { inputSize: SIDE });
    const adapted = methodDefinition('hpfcn').adaptationKeys;
    const official = new Map(
      [...model.stateDict()]
        .filter(([k]) => !adapted.some((p) => k.startsWith(p)))
        .map(([k, t]) => [k, { shape: t.shape, data: t.toTypedArray().slice() as Float32Array | BigInt64Array }]),
    );
    assert.ok(official.size < model.stateDict().size, 'the image head is left out');
    const pth = join(dir, 'hpfcn_official.pth');
    await writeFile(pth, writePth(official));

    const loaded = await loadModelFile(pth, { method: 'hpfcn', inputSize: SIDE });
    assert.deepEqual([loaded.described, loaded.info.method], [false, 'hpfcn']);
    const state = loaded.model.stateDict();
    for (const [k, t] of official) assert.deepEqual(state.get(k)!.toTypedArray(), t.data, k);
    loaded.model.dispose();
    // without --method a .pth is refused with the way out; a wrong method names the mismatched keys
    await assert.rejects(openEngine(pth), (e: unknown) => e instanceof ModelChoiceError && /--method/.test(e.hint));
    await assert.rejects(loadModelFile(pth, { method: 'ffd' }), WeightsError);

    const { path } = await picture(dir);
    const r = await runCli([
      'detect',
      path,
      '--model',
      pth,
      '--method',
      'hpfcn',
      '--input-size',
      String(SIDE),
      '--no-face',
      '--format',
      'json',
      '-o',
      join(dir, 'out'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim()) as { ok: boolean; score: number };
    assert.equal(result.ok, true);
    assert.ok(result.score >= 0 && result.score <= 1);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
