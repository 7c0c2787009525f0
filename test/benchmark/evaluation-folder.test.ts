import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePerturbations } from '../../src/samples/perturb.js';
import { EvaluationFolderError, runEvaluation, type EvaluationIdentity, type EvaluationRunEvent } from '../../src/benchmark/evaluation-folder.js';
import { openEngine } from '../../src/infer/engines.js';
import { modelFileMetadata } from '../../src/models/model-file.js';
import { buildMethod } from '../../src/models/index.js';
import { saveSafetensors } from '../../src/nn/safetensors.js';
import { createTorchEngine } from '../../src/infer/engines.js';
import { applyDetfill } from '../../src/models/detfill.js';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { readManifestSamples } from '../../src/samples/dataset.js';
import { writeSyntheticSet } from '../train/synthetic.js';
import { listFiles, runCli, startCli } from '../helpers/cli.js';

test('a killed evaluation continues where it stopped and ends with the one-shot metrics, sweep included', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-evalrun-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 48, train: 0, val: 5, seed: 2 });
  const { samples } = await readManifestSamples(set.manifest, { split: 'val', compression: null, methods: null });
  const model = buildMsccnet('msccnet', { inputSize: 64, backboneDepth: 18, featsChannels: 64, dct: 'paper' }).eval();
  applyDetfill(model);
  const engine = createTorchEngine(model);
  t.after(() => engine.release());
  const identity: EvaluationIdentity = { model: 'detfill', engine: engine.name, manifest: set.manifest, split: 'val', batchSize: 2, seed: 1, pixelAuc: true };
  const perturbations = parsePerturbations(['noise:10', 'jpeg:50']);

  const oneShot = await runEvaluation(engine, samples, { outDir: join(dir, 'a'), identity, perturbations, commitEvery: 2, commitSeconds: 0 });

  // interrupted after 3 batches of the clean condition: 2 batches committed, the third's lines are not
  const outB = join(dir, 'b');
  const controller = new AbortController();
  await assert.rejects(
    runEvaluation(engine, samples, {
      outDir: outB,
      identity,
      perturbations,
      commitEvery: 2,
      commitSeconds: 0,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'progress' && e.done >= 6) controller.abort();
      },
    }),
    { name: 'AbortError' },
  );
  await appendFile(join(outB, 'none', 'records.jsonl'), '{"i":6,"rec'); // a write torn by the kill
  const resumed = await runEvaluation(engine, samples, { outDir: outB, identity, perturbations, commitEvery: 2, commitSeconds: 0 });

  assert.equal(resumed[0]!.resumed, 4, 'continued after the two committed batches');
  assert.deepEqual(
    resumed.map((c) => c.name),
    ['none', 'noise-10', 'jpeg-50'],
  );
  for (const [k, c] of resumed.entries()) assert.deepEqual(c.result, oneShot[k]!.result, `${c.name}: same metrics as the one-shot run`);
  const lines = (await readFile(join(outB, 'none', 'records.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { i: number });
  assert.deepEqual(
    lines.map((l) => l.i),
    samples.map((_, i) => i),
    'one record per sample, in order',
  );
  assert.notDeepEqual(oneShot[1]!.result.official, oneShot[0]!.result.official, 'the noise changed what the model saw');
  const csv = (await readFile(join(outB, 'metrics.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 4);
  assert.match(csv[1]!, /^none,none,,10,/);
  assert.match(await readFile(join(outB, 'robustness-mIoU.svg'), 'utf8'), /<svg[^>]*aria-label="mIoU under perturbations"/);

  // a folder made for another evaluation is refused
  await assert.rejects(runEvaluation(engine, samples, { outDir: outB, identity: { ...identity, split: 'test' } }), /split differ/);
});

test('msccnet evaluate: metrics in JSON/Markdown/CSV, a row per perturbation, rerun resumes', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-evalcli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 48, train: 0, val: 2, seed: 4 });
  const args = [
    'evaluate',
    '--model',
    'detfill',
    '--engine',
    'torch',
    '--input-size',
    '64',
    '--manifest',
    set.manifest,
    '--split',
    'val',
    '--perturb',
    'blur:3',
    '--out',
    join(dir, 'eval'),
    '--workers',
    '0',
    '--threads',
    '1',
  ];
  const r = await runCli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| condition \| images \| ACC \| AUC \| F1 \| mIoU \| extra: fake-class F1/);
  assert.match(r.stdout, /\| blur-3 \| 4 \|/);
  assert.deepEqual(
    (await listFiles(join(dir, 'eval'))).filter((f) => !f.includes('/')),
    ['evaluation.json', 'metrics.csv', 'metrics.json', 'metrics.md', 'robustness-ACC.svg', 'robustness-AUC.svg', 'robustness-F1.svg', 'robustness-mIoU.svg'],
  );
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, r.stdout, 'a finished evaluation reruns to the same table');
});

test('two msccnet evaluate runs on one folder at once: the second is refused at once, the first ends as a single run does', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-evallock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 48, train: 0, val: 4, seed: 5 });
  const args = (out: string): string[] => [
    'evaluate',
    ...['--model', 'detfill', '--engine', 'torch', '--input-size', '64', '--manifest', set.manifest, '--split', 'val'],
    ...['--perturb', 'blur:3', 'noise:5', '--out', out, '--workers', '0', '--threads', '1', '--batch-size', '1'],
  ];
  const shared = join(dir, 'shared');
  const single = join(dir, 'single');
  const alone = startCli(args(single)); // the reference: a run with its folder to itself
  const first = startCli(args(shared));
  while (!existsSync(join(shared, '.msccnet.lock'))) await new Promise((r) => setTimeout(r, 5));
  // Paused while the second starts: on a loaded machine the first could otherwise finish (and
  // release the lock) before the second's Node has even started. A stopped PID is still alive.
  assert.ok(first.child.kill('SIGSTOP'));
  assert.equal(first.child.exitCode, null, 'the first run ended before it could be paused');
  const second = await runCli(args(shared));
  assert.ok(first.child.kill('SIGCONT'));
  const firstDone = await first.done;
  assert.equal(first.child.exitCode, 0, firstDone.stderr);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`MSCCNET_LOCKED|is in use by another run: PID ${first.child.pid} on `));
  assert.match(second.stderr, /since \d{4}-\d\d-\d\dT.*evaluate/);

  const aloneDone = await alone.done;
  assert.equal(aloneDone.code, 0, aloneDone.stderr);
  const files = await listFiles(shared);
  assert.deepEqual(files, await listFiles(single));
  assert.ok(files.includes('none/records.jsonl') && files.includes('noise-5/progress.json'), files.join(', '));
  for (const f of files) assert.ok((await readFile(join(shared, f))).equals(await readFile(join(single, f))), `${f} differs from a single run's`);
});

test('a resume after the model file was replaced at the same path is refused: made for another model', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-evalmodel-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 48, train: 0, val: 3, seed: 6 });
  const { samples } = await readManifestSamples(set.manifest, { split: 'val', compression: null, methods: null });
  const modelPath = join(dir, 'model.safetensors');
  const save = async (scale: number): Promise<void> => {
    const model = buildMethod('msccnet', { inputSize: 64, backboneDepth: 18, featsChannels: 64, dct: 'paper' }).eval();
    applyDetfill(model);
    const tensors = model.stateDict();
    const head = [...tensors.keys()].filter((k) => k.endsWith('.weight')).at(-1)!;
    if (scale !== 1) tensors.set(head, tensors.get(head)!.mul(scale)); // a retrained head
    await saveSafetensors(modelPath, tensors, modelFileMetadata(model));
    model.dispose();
  };
  await save(1);
  const evaluate = async (signal?: AbortSignal, onEvent?: (e: EvaluationRunEvent) => void): Promise<unknown> => {
    const engine = await openEngine(modelPath, { engine: 'torch', threads: 1 });
    try {
      const identity: EvaluationIdentity = {
        model: modelPath,
        engine: engine.name,
        manifest: set.manifest,
        split: 'val',
        batchSize: 2,
        seed: 0,
        pixelAuc: false,
      };
      return await runEvaluation(engine, samples, { outDir: join(dir, 'eval'), identity, signal, onEvent, commitSeconds: 0 });
    } finally {
      await engine.release();
    }
  };
  const controller = new AbortController();
  await assert.rejects(
    evaluate(controller.signal, (e) => {
      if (e.kind === 'progress' && e.done >= 2) controller.abort();
    }),
    { name: 'AbortError' },
  );
  await save(2); // the file at the same path is now another model
  await assert.rejects(evaluate(), (e: EvaluationFolderError) => {
    assert.equal(e.code, 'MSCCNET_EVAL_FOLDER');
    assert.match(e.problem, /was made for another model: the contents of .*model\.safetensors changed since \(sha256:[0-9a-f]{64}, now sha256:[0-9a-f]{64}\)/);
    return true;
  });
  const progress = JSON.parse(await readFile(join(dir, 'eval', 'none', 'progress.json'), 'utf8')) as { lines: number };
  assert.equal(progress.lines, 2, "the old model's records are untouched");
  await save(1); // the original bytes again: the same model, the resume goes on
  await evaluate();
  assert.equal((await readFile(join(dir, 'eval', 'none', 'records.jsonl'), 'utf8')).trim().split('\n').length, samples.length);
});
