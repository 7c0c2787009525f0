import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError, InputFileError, MsccnetError, parseWith, problemLine } from '../src/errors.js';

const Schema = z.strictObject({
  lr: z.number().positive().default(0.01),
  data: z.strictObject({ side: z.number().int().default(512), flips: z.boolean().default(true) }).default({ side: 512, flips: true }),
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('parseWith returns the schema output with its defaults', () => {
  assert.deepEqual(parseWith(Schema, { data: { side: 256 } }, 'unused'), { lr: 0.01, data: { side: 256, flips: true } });
});

test('parseWith names every problem by its path, unknown keys by their own path, with the hint', () => {
  const err = configError(() => parseWith(Schema, { lr: -1, data: { side: 1.5, flipz: true }, epochz: 3 }, 'see --help-config'));
  assert.deepEqual(
    [...err.problems].sort(),
    [
      'data.flipz: unknown key',
      'data.side: Invalid input: expected int, received number',
      'epochz: unknown key',
      'lr: Too small: expected number to be >0',
    ].sort(),
  );
  assert.equal(err.hint, 'see --help-config');
  assert.equal(err.code, 'MSCCNET_CONFIG');
});

test('parseWith wording: a prefix before every path, the unknown-key text, the root named (config)', () => {
  const err = configError(() => parseWith(Schema, { lr: 'x', extra: 1 }, 'h', { prefix: 'hpfcn.', unknownKey: 'unknown field (known: lr, data)' }));
  assert.deepEqual([...err.problems].sort(), ['hpfcn.extra: unknown field (known: lr, data)', 'hpfcn.lr: Invalid input: expected number, received string']);
  assert.deepEqual(configError(() => parseWith(Schema, 42, 'h')).problems, ['(config): Invalid input: expected object, received number']);
});

test('toJSON carries every line of a multi-line problem, apart from the hint', () => {
  const err = new ConfigError(['a: bad', 'b.c: worse'], 'fix them');
  assert.deepEqual(err.toJSON(), { code: 'MSCCNET_CONFIG', problem: 'invalid configuration:\n  a: bad\n  b.c: worse', hint: 'fix them' });
  assert.deepEqual(JSON.parse(JSON.stringify(err)), err.toJSON());
  assert.ok(err instanceof MsccnetError);
});

test('problemLine: a multi-line problem on one line with all its lines, no hint; other errors by their message', () => {
  assert.equal(problemLine(new ConfigError(['a: bad', 'b.c: worse'], 'fix them')), 'invalid configuration: a: bad; b.c: worse');
  assert.equal(problemLine(new InputFileError('x.png', 'cannot be read', 'check it')), 'x.png: cannot be read');
  assert.equal(problemLine(new Error('first\nsecond')), 'first; second');
  assert.equal(problemLine('plain'), 'plain');
});
