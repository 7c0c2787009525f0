import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { formatSeconds } from '../../src/cli/progress.js';

test('formatSeconds rounds once, then splits into minutes and seconds', () => {
  assert.equal(formatSeconds(299.6), '5m00s');
  assert.equal(formatSeconds(59.96), '1m00s');
  assert.equal(formatSeconds(59.94), '59.9s');
  assert.equal(formatSeconds(61.4), '1m01s');
  assert.equal(formatSeconds(3599.5), '60m00s');
  assert.equal(formatSeconds(0.25), '0.3s');
  assert.equal(formatSeconds(Number.NaN), '?');
});
