/**
 * `train --seeds`: one run folder per seed with the config's seed set to it; another seed trains
 * other weights (init, data order, augmentation and dropout all follow it), the same seed on the
 * same machine the same weights to the byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { oneStepBenchmarkConfig, writeSyntheticSet } from '../train/synthetic.js';

const weights = async (run: string): Promise<Buffer> => readFile(join((await listCheckpoints(join(run, 'checkpoints'))).at(-1)!, 'model.safetensors'));

test(
  'train --seeds 2: seed-0 and seed-1 folders of their own seed and weights; --seeds 1 elsewhere repeats seed 0 to the byte',
  { timeout: 240_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-train-seeds-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 3 });
    const configFile = join(dir, 'config.json');
    await writeFile(configFile, JSON.stringify(oneStepBenchmarkConfig(set.manifest)));
    const first = await runCli(['train', '-c', configFile, '--set', `run.dir=${join(dir, 'a')}`, '--seeds', '2']);
    assert.equal(first.code, 0, first.stderr);
    for (const s of [0, 1]) {
      const saved = JSON.parse(await readFile(join(dir, 'a', `seed-${s}`, 'config.json'), 'utf8')) as { seed: number };
      assert.equal(saved.seed, s);
    }
    const [w0, w1] = [await weights(join(dir, 'a', 'seed-0')), await weights(join(dir, 'a', 'seed-1'))];
    assert.ok(!w0.equals(w1), 'another seed trains other weights');
    const again = await runCli(['train', '-c', configFile, '--set', `run.dir=${join(dir, 'b')}`, '--seeds', '1']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await weights(join(dir, 'b', 'seed-0'))).equals(w0), 'the same seed on the same machine: the same weights');
  },
);

test('train --seeds with --nproc is refused, saying what to do', async () => {
  const r = await runCli(['train', '--seeds', '2', '--nproc', '2']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--seeds trains its runs in turn in this process; it cannot be combined with --nproc/);
  assert.match(r.stderr, /→ start one distributed train per seed with --set seed=S/);
});
