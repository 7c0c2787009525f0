import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveSafetensors, loadSafetensors } from '../../src/nn/index.js';
import { readMetadata } from '../../src/onnx/index.js';
import { loadModelFile, MSCCNet, parseMsccnetConfig, WeightsError, type MsccnetConfig } from '../../src/models/index.js';
import { officialPreprocess } from '../../src/image/preprocess.js';
import { runCli, startCli } from '../helpers/cli.js';
import { writeSyntheticSet } from '../train/synthetic.js';

// A non-default architecture: a narrow ResNet-18 through the official BuildResNet fields and an MSCC
// output (out_channels) wider than F_A; no registered variant matches it.
const model = { backboneDepth: 18, baseChannels: 8, stemChannels: 16, featsChannels: 16, outChannels: 24, groups: 4, inputSize: 32, dropout: 0 } as const;

test('a model trained by `msccnet train` is exported, detected and served from its weights alone', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-model-file-'));
  let server: ReturnType<typeof startCli> | null = null;
  try {
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 32, train: 2, val: 1, seed: 3 });
    const run = join(dir, 'run');
    await writeFile(
      join(dir, 'train.json'),
      JSON.stringify({
        data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 32, workers: 0, prefetch: 1 },
        model,
        batchSize: 2,
        epochs: 1,
        optim: { lr: 0.01 },
        run: { dir: run, maxSteps: 1, threads: 1, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
      }),
    );
    const trained = await runCli(['train', '--config', join(dir, 'train.json')]);
    assert.equal(trained.code, 0, trained.stderr);
    const step = (await readdir(join(run, 'checkpoints'))).find((n) => n.startsWith('step-'));
    assert.ok(step);
    const weights = join(run, 'checkpoints', step, 'model.safetensors');

    const { metadata } = await loadSafetensors(weights);
    const expectedConfig = parseMsccnetConfig(model);
    assert.deepEqual(JSON.parse(metadata.config), JSON.parse(JSON.stringify(expectedConfig)));
    assert.equal(metadata.variant, 'custom');
    assert.equal(metadata.method, 'msccnet');
    assert.equal(metadata.inputSize, String(model.inputSize));
    assert.deepEqual(JSON.parse(metadata.preprocessing), JSON.parse(JSON.stringify(officialPreprocess(model.inputSize))));

    const onnx = join(dir, 'model.onnx');
    const exported = await runCli(['export', '--weights', run, '-o', onnx]); // the run folder alone
    assert.equal(exported.code, 0, exported.stderr);
    const onnxMeta = readMetadata(await readFile(onnx));
    assert.equal(onnxMeta.inputSize, String(model.inputSize));
    assert.deepEqual(JSON.parse(onnxMeta.config), JSON.parse(metadata.config));

    const image = join(
      set.dir,
      (await readdir(set.dir, { recursive: true })).find((f) => /fake.*\.png$|\.png$/.test(f))!,
    );
    const detected = await runCli(['detect', image, '-m', weights, '--no-face', '--format', 'json', '-o', join(dir, 'det')]);
    assert.equal(detected.code, 0, detected.stderr);
    const result = JSON.parse(detected.stdout.trim().split('\n')[0]) as { ok: boolean; score: number };
    assert.equal(result.ok, true);
    assert.ok(result.score >= 0 && result.score <= 1);

    const port = 20000 + Math.floor(Math.random() * 20000);
    server = startCli(['serve', '-m', weights, '--port', String(port)]);
    let info: { inputSide: number } | null = null;
    for (let i = 0; i < 600 && info === null; i++) {
      info = await fetch(`http://127.0.0.1:${port}/api/info`).then(
        (r) => r.json() as Promise<{ inputSide: number }>,
        () => null,
      );
      if (info === null) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(info, 'the server answered');
    assert.equal(info.inputSide, model.inputSize);
  } finally {
    server?.child.kill('SIGTERM');
    await server?.done;
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file without metadata loads with the fallback config, and a wrong fallback names the flags to pass', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-old-file-'));
  try {
    const net = new MSCCNet(model);
    const file = join(dir, 'old.safetensors');
    await saveSafetensors(file, net.stateDict());
    const loaded = await loadModelFile(file, { overrides: model });
    assert.equal(loaded.described, false);
    assert.equal((loaded.model.config as MsccnetConfig).outChannels, model.outChannels);
    await assert.rejects(
      loadModelFile(file, { overrides: { ...model, baseChannels: 16 } }),
      (err: unknown) => err instanceof WeightsError && /--variant and --input-size/.test(err.message),
    );
    loaded.model.dispose();
    net.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
