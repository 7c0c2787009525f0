import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng, makeImage } from '../../src/image/index.js';
import { sampleFace, synthesiseFake } from '../../src/data/sample-faces.js';
import { loadSafetensors } from '../../src/nn/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { TrainRun, train } from '../../src/train/trainer.js';
import { DatasetError } from '../../src/samples/errors.js';
import type { SladdConfig } from '../../src/models/sladd/index.js';

// `msccnet train --method sladd` with the synthesizer on (the official recipe, the default): two
// real faces of face-api's sample photos and their fakes, at the smallest side face-api finds faces in.
let dir: string;
const manifests = new Map<number, string>();

async function writeFaceSet(side: number): Promise<string> {
  const root = join(dir, `faces-${side}`);
  const lines: string[] = [];
  for (let v = 0; v < 2; v++) {
    const real = await sampleFace(v, side);
    const fake = synthesiseFake(real, 'Swap', await sampleFace(v + 1, side), v);
    // the fake's mask: every pixel the forgery changed
    const mask = makeImage(
      side,
      side,
      1,
      Uint8Array.from({ length: side * side }, (_, i) => (fake.data.subarray(3 * i, 3 * i + 3).some((c, k) => c !== real.data[3 * i + k]) ? 255 : 0)),
    );
    const video = String(v).padStart(3, '0');
    const files = {
      real: join('youtube', video, '000.png'),
      fake: join('Deepfakes', `${video}_9${video}`, '000.png'),
      mask: join('masks', `${video}_9${video}`, '000.png'),
    };
    for (const [f, img] of [
      [files.real, real],
      [files.fake, fake],
      [files.mask, mask],
    ] as const) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), await encodePng(img));
    }
    const common = { split: 'train', compression: 'c23', frame: 0 };
    lines.push(JSON.stringify({ ...common, method: 'youtube', video, image: files.real, mask: null, label: 0 }));
    lines.push(JSON.stringify({ ...common, method: 'Deepfakes', video: `${video}_9${video}`, image: files.fake, mask: files.mask, label: 1 }));
  }
  await writeFile(join(root, 'manifest.jsonl'), `${lines.join('\n')}\n`);
  return join(root, 'manifest.jsonl');
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msccnet-sladd-synth-'));
  for (const side of [128, 64]) manifests.set(side, await writeFaceSet(side));
});
test.after(() => rm(dir, { recursive: true, force: true }));

const configAt = (side: number, name: string) =>
  parseTrainConfig({
    method: 'sladd',
    model: { inputSize: side },
    data: { manifest: manifests.get(side)!, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', workers: 0, prefetch: 1 },
    batchSize: 4,
    epochs: 1,
    optim: { optimizer: 'adamw', lr: 2e-4 },
    run: { dir: join(dir, name), threads: 2, valEveryEpochs: 1000, maxSteps: 1 },
  });

test(
  'train --method sladd: one step with the synthesizer moves the policy, the detector loss is finite, the checkpoint holds both',
  { timeout: 300_000 },
  async () => {
    const config = configAt(128, 'run');
    assert.equal((config.model as unknown as SladdConfig).detectorAlone, false, 'the official recipe is the default');
    const steps: Record<string, number>[] = [];
    const run = await TrainRun.open(config, { onEvent: (e) => void (e.kind === 'step' && steps.push({ ...e.losses })) });
    try {
      const policy = run.synthesis!.policy;
      const key = 'model.fc_region.1.weight';
      const before = policy.stateDict().get(key)!.toArray();
      for await (const batch of run.epochBatches()) {
        await run.step(batch);
        await run.maybeCheckpoint(null);
        break;
      }
      const after = policy.stateDict().get(key)!.toArray();
      assert.notDeepEqual(after, before, 'REINFORCE stepped the policy');
      assert.equal(steps.length, 1);
      for (const k of ['cls', 'map', 'type', 'mag', 'total', 'synthesizer']) assert.ok(Number.isFinite(steps[0][k]), `${k} = ${steps[0][k]}`);
      // the checkpoint stores the policy as it is after the step, so a resume continues it
      const saved = await loadSafetensors(join(config.run.dir, 'checkpoints', 'step-00000001', 'synthesizer.safetensors'));
      assert.deepEqual(saved.tensors.get(key)!.toArray(), after);
      const log = await readFile(join(config.run.dir, 'log.jsonl'), 'utf8');
      assert.match(log, /SLADD: the detector trains on the synthesizer's forgeries/);
      assert.equal(JSON.parse(await readFile(join(config.run.dir, 'config.json'), 'utf8')).model.detectorAlone, false);
    } finally {
      await run.close();
    }
  },
);

test('train --method sladd on crops too small for the landmark model: a one-line error that names detectorAlone', { timeout: 120_000 }, async () => {
  await assert.rejects(
    train(configAt(64, 'small')),
    (e: unknown) => e instanceof DatasetError && /no face/.test(e.message) && /model\.detectorAlone=true/.test(e.hint) && !e.problem.includes('\n'),
  );
});
