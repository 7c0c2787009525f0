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

test('msccnet model --summary --method prints parameters and multiply-adds of the registered methods', () => {
  const r = cli('--summary', '--method', 'multitask', 'hpfcn', '--size', '128');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^method\s+parameters\s+MACs @ 128²\s+source/m);
  // Multi-task's 304,949 parameters are the official ClassNSeg encoder + decoder (test/models/official-keys/multitask.json)
  assert.match(r.stdout, /^multitask\s+304,949\s+\d+\.\d\d G\s+Nguyen et al\./m);
  assert.match(r.stdout, /^hpfcn\s+7,703,127\s/m);
  const unknown = cli('--summary', '--method', 'mantra');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /use one of: msccnet, hpfcn, multitask, ffd, mvss/);
});
