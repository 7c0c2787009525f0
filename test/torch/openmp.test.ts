import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

// The spin count libgomp reads when the addon loads it: 10,000 unless the user chose a policy or a count (Node's
// process.env setter is setenv, which libgomp's getenv reads; bench/demo-methods.ts shows the effect).
const script = `
import { torch } from './src/torch/index.ts';
torch.zeros([1]);
console.log(['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'].map((k) => k + '=' + (process.env[k] ?? '')).join(' '));
`;
function childEnv(extra: Record<string, string>): string {
  const env = { ...process.env };
  delete env.OMP_WAIT_POLICY;
  delete env.GOMP_SPINCOUNT;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...env, ...extra }, encoding: 'utf8' }).trim();
}

test('loading the addon sets GOMP_SPINCOUNT=10000 unless the user chose a wait policy or a spin count', () => {
  assert.equal(childEnv({}), 'OMP_WAIT_POLICY= GOMP_SPINCOUNT=10000');
  assert.equal(childEnv({ OMP_WAIT_POLICY: 'ACTIVE' }), 'OMP_WAIT_POLICY=ACTIVE GOMP_SPINCOUNT=');
  assert.equal(childEnv({ GOMP_SPINCOUNT: '1000' }), 'OMP_WAIT_POLICY= GOMP_SPINCOUNT=1000');
});
