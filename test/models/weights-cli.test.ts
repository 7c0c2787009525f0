import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { torch } from '../../src/torch/index.js';
import { detfillInput } from '../../src/models/detfill.js';
import { loadModelFile, WeightsError } from '../../src/models/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/index.js';
import { writeSyntheticSet } from '../train/synthetic.js';

const dir = fixtureDir('pth-checkpoints');
interface Spec {
  entries: Record<string, { shape?: number[] }>;
  official_config_overrides?: Record<string, Record<string, unknown>>;
  outputs?: { img_logits: number[][] };
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Spec>;
const officialFile = Object.keys(expected).find((f) => expected[f].outputs !== undefined)!;
const official = expected[officialFile];
const mmlabFile = Object.keys(expected).find((f) => Object.keys(expected[f].entries).some((k) => k.startsWith('state_dict/stem.')))!;
const closeTo = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);

test('weights convert --official-config writes a model file that detect/export rebuild alone; inspect shows its config', { timeout: 120_000 }, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'msccnet-weights-cli-'));
  try {
    const out = join(tmp, 'official.safetensors');
    const converted = await runCli([
      'weights',
      'convert',
      join(dir, officialFile),
      '--out',
      out,
      '--official-config',
      JSON.stringify(official.official_config_overrides),
    ]);
    assert.equal(converted.code, 0, converted.stderr);
    assert.match(converted.stdout, /\(official\): \d+ used, 0 skipped, 0 missing, 0 shape-mismatched/);
    const inspected = await runCli(['weights', 'inspect', out, '--json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout) as { format: string; converter: string; model: { config: { baseChannels: number } } };
    assert.equal(info.format, 'safetensors');
    assert.equal(info.converter, 'official');
    assert.equal(info.model.config.baseChannels, official.official_config_overrides!.backbone.base_channels);

    const { model, described } = await loadModelFile(out);
    assert.equal(described, true);
    const side = model.preprocessing.inputSize;
    const img = torch.noGrad(() =>
      torch.tidy(() => model.forward(torch.fromTypedArray(detfillInput(1, side), [1, 3, side, side])).imgLogits.toTypedArray() as Float32Array),
    );
    official.outputs!.img_logits.flat().forEach((v, i) => assert.ok(closeTo(img[i], v), `img_logits[${i}] ${img[i]} vs ${v}`));
    model.dispose();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test(
  'train model.pretrained: the OpenMMLab pretrain initialises the backbone and its report is in log.jsonl; a load that uses nothing is refused',
  { timeout: 300_000 },
  async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'msccnet-pretrained-'));
    try {
      const set = await writeSyntheticSet(join(tmp, 'data'), { side: 32, train: 2, val: 1, seed: 5 });
      const backbone = official.official_config_overrides!.backbone;
      const config = (run: string, pretrained: unknown) =>
        parseTrainConfig({
          data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 32, workers: 0, prefetch: 1 },
          model: {
            backboneDepth: Number(String(backbone.type).replace('resnet', '')),
            baseChannels: backbone.base_channels,
            stemChannels: backbone.stem_channels,
            featsChannels: 16,
            inputSize: 32,
            dropout: 0,
            pretrained,
          },
          batchSize: 2,
          epochs: 1,
          optim: { lr: 0.001 },
          run: { dir: join(tmp, run), maxSteps: 1, threads: 1, valEveryEpochs: 100, checkpointEveryEpochs: 100 },
        });
      await train(config('ok', join(dir, mmlabFile)));
      const log = (await readFile(join(tmp, 'ok', 'log.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const report = log.find((r) => r.event === 'pretrained') as
        { converter: string; used: string[]; skipped: { key: string }[]; missing: string[] } | undefined;
      assert.ok(report, 'log.jsonl has the load report');
      assert.equal(report.converter, 'openmmlab');
      const sourceTensors = Object.entries(expected[mmlabFile].entries).filter(([k, v]) => k.startsWith('state_dict/') && v.shape !== undefined).length;
      assert.equal(report.used.length + report.skipped.length, sourceTensors);
      assert.deepEqual(report.skipped.map((s) => s.key).sort(), ['fc.bias', 'fc.weight']);
      assert.deepEqual(report.missing, []);
      // the official trainer checkpoint is of another width: strict, so it names what does not fit
      await assert.rejects(
        train(config('bad', { file: join(dir, officialFile) })),
        (err: unknown) => err instanceof WeightsError && /shape:|missing:/.test(err.message),
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
);
