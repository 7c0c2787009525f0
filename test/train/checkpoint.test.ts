import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { tempPath } from '../../src/io/atomic.js';
import { Linear, SGD } from '../../src/nn/index.js';
import { torch } from '../../src/torch/index.js';
import { loadCheckpoint, openRunFolder, RNG_SCHEME, saveCheckpoint, type CheckpointState } from '../../src/train/checkpoint.js';

const state = (step: number): CheckpointState => ({
  step,
  epoch: 0,
  seed: 0,
  rng: RNG_SCHEME,
  mIoU: null,
  bestMIoU: null,
  worldSize: 1,
  savedAt: new Date(0).toISOString(),
});

test('saveCheckpoint replaces a folder of the same name whole, leaving no temporary folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-ckpt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const layer = new Linear(2, 1, { bias: false });
  const opt = new SGD(layer.parameters(), { lr: 1 });
  torch.noGrad(() => layer.weight.copy_(torch.tensor([1, 2], [1, 2])));
  const path = await saveCheckpoint(dir, 'step-00000001', layer, opt, state(1));
  torch.noGrad(() => layer.weight.copy_(torch.tensor([3, 4], [1, 2])));
  assert.equal(await saveCheckpoint(dir, 'step-00000001', layer, opt, state(2)), path);
  assert.deepEqual(await readdir(dir), ['step-00000001']);
  assert.deepEqual((await readdir(path)).sort(), ['model.safetensors', 'optimizer.safetensors', 'state.json']);
  const fresh = new Linear(2, 1, { bias: false });
  assert.equal((await loadCheckpoint(path, fresh, null)).step, 2);
  assert.deepEqual(fresh.weight.toArray(), [3, 4]);
});

test('openRunFolder removes the temporary checkpoint folders of a killed run (the one temp-name scheme) and resumes', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'msccnet-run-'));
  t.after(() => rm(runDir, { recursive: true, force: true }));
  const layer = new Linear(2, 1, { bias: false });
  const saved = await saveCheckpoint(join(runDir, 'checkpoints'), 'step-00000002', layer, new SGD(layer.parameters(), { lr: 1 }), state(2));
  const stale = tempPath(join(runDir, 'checkpoints', 'step-00000003'));
  await mkdir(stale);
  await writeFile(join(stale, 'model.safetensors'), Buffer.alloc(64));
  const folder = await openRunFolder(runDir, { resume: true, overwrite: false, lead: true });
  assert.equal(folder.resumeFrom, saved);
  assert.deepEqual(await readdir(join(runDir, 'checkpoints')), ['step-00000002']);
  assert.match(folder.notes.join('\n'), /removed 1 temporary checkpoint folder/);
});

test('a checkpoint write that fails (file-size limit, as a full disk) leaves no temporary folder or file behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-ckpt-fail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = fileURLToPath(new URL('./checkpoint-write-child.ts', import.meta.url));
  // 256 KiB: the 1 MiB model.safetensors cannot be written
  const r = spawnSync('bash', ['-c', `ulimit -f 256; exec "${process.execPath}" --import tsx "${child}" "${dir}"`], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  // one MSCCNET_IO line naming the file the user asked for and the file-size limit (src/io/atomic.ts)
  const [code, problem] = r.stdout.trim().split('\n');
  assert.equal(code, 'MSCCNET_IO');
  assert.match(problem ?? '', /model\.safetensors.*file too large/);
  assert.deepEqual(await readdir(dir, { recursive: true }), []);
});
