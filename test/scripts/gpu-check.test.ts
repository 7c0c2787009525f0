import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesRoot } from '../helpers/fixtures.js';

// scripts/gpu-check --dry-run: the parts of the GPU check that run without a GPU (the bundle, the
// build commands, every check at tiny sizes on the CPU), so that the script does not rot between
// the sessions that are lent a GPU. The build itself is skipped (--skip-build: the checks use this
// checkout's addon): compiling the addon takes minutes on CI's two cores.
type Line = Record<string, unknown> & { check: string };

test('the dry run bundles the code, prints the build commands and one JSON line per check, parity passing on the CPU', { timeout: 120_000 }, () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'msccnet-gpu-check-')), 'gpu-check');
  try {
    const r = spawnSync('scripts/gpu-check', ['--dry-run', '--skip-build', '--precisions', 'fp32'], {
      env: { ...process.env, GPU_CHECK_DIR: dir, MSCCNET_FIXTURES: fixturesRoot },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    const by = (check: string): Line[] => lines.filter((l) => l.check === check);
    assert.deepEqual(
      lines.map((l) => l.check),
      ['bundle', 'build', 'environment', 'parity-eval', 'parity-train-step', 'train-step', 'inference', 'summary'],
    );

    assert.ok(existsSync(join(dir, 'dist', 'bench', 'gpu-check.mjs')), 'the bundle');
    for (const f of [
      'native/src/distributed.cc',
      'native/src/cuda.cc',
      'scripts/libtorch.mjs',
      'node-addon-api/napi.h',
      'fixtures/msccnet-128/expected.json',
      'fixtures/msccnet-128-train/expected_train_step.json',
      'pytorch/msccnet.py',
    ]) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { bytes: number };
    assert.ok(manifest.bytes < 64 * 2 ** 20 - 45 * 2 ** 20, `${manifest.bytes} bytes leave room for the 43 MB Node package under the 64 MiB carry limit`);

    const [build] = by('build');
    assert.match(String(build.libtorch), /^libtorch \d+\.\d+\.\d+.*, (CPU|CUDA.*), C\+\+11 ABI [01]$/);
    const commands = build.commands as string[];
    assert.equal(commands.length, 7, 'six sources compiled, one link');
    for (const src of ['addon', 'allocator', 'tensor', 'ops', 'distributed', 'cuda']) {
      assert.ok(
        commands.some((c) => c.includes(`-c ${join(dir, 'native', 'src', `${src}.cc`)}`) && /-D_GLIBCXX_USE_CXX11_ABI=[01]/.test(c)),
        src,
      );
    }
    assert.match(commands[6], /-shared .*msccnet_torch\.node .*-ltorch/);

    const [evalParity] = by('parity-eval');
    assert.equal(evalParity.pass, true, JSON.stringify(evalParity));
    const [stepParity] = by('parity-train-step');
    assert.equal(stepParity.pass, true, JSON.stringify(stepParity));
    const [step] = by('train-step');
    assert.equal(step.precision, 'fp32');
    assert.ok((step.ours as { msPerStep: number }).msPerStep > 0);
    assert.ok(step.pytorch !== null || typeof step.pytorchError === 'string', 'PyTorch timed, or why not');
    const [infer] = by('inference');
    assert.ok((infer.ours as { imagesPerSecond: number }).imagesPerSecond > 0);
    const [summary] = by('summary');
    assert.ok((summary.passed as string[]).includes('parity-eval') && (summary.passed as string[]).includes('parity-train-step'));
    assert.deepEqual(summary.errors, []);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
