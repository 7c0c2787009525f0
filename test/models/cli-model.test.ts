import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'model', ...args], { encoding: 'utf8' });

test('msccnet model --summary prints the parameter table of the chosen variants', () => {
  const r = cli('--summary', '--variant', 'base', 'no-gcn');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^variant\s+table\s+parameters/m);
  assert.match(r.stdout, /^base\s+Table 6\s+33,233,764/m);
  assert.match(r.stdout, /^no-gcn\s+Table 7\s+52,129,131/m);
});

test('msccnet model reports bad usage and unknown variants without a stack trace', () => {
  const none = cli();
  assert.equal(none.status, 1);
  assert.match(none.stderr, /--summary and\/or --check-detfill/);
  const unknown = cli('--summary', '--variant', 'resnet9000');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown model variant 'resnet9000'[\s\S]*use one of: msccnet, base/);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /);
});
