import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { annotatePairToFiles } from '../../src/annotate/files.js';
import type { AnnotationOptions } from '../../src/annotate/options.js';
import { encodeGrayPng } from '../../src/image/png.js';

test('a pair failing on a multi-line ConfigError keeps every problem in its one-line skip message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const gray = { width: 8, height: 8, channels: 1, data: new Uint8Array(64).fill(128) };
  await writeFile(join(dir, 'real.png'), encodeGrayPng(gray));
  await writeFile(join(dir, 'fake.png'), encodeGrayPng(gray));
  // options that bypassed validation (e.g. a hand-written worker task): two fields are bad
  const annotation = { diffThreshold: 2, dilateSize: 0 } as unknown as AnnotationOptions;
  const { record, reused } = await annotatePairToFiles({
    pair: { real: join(dir, 'real.png'), fake: join(dir, 'fake.png'), output: 'mask.png' },
    outDir: join(dir, 'out'),
    diffDir: null,
    overwrite: false,
    annotation,
    maxPixels: 1e6,
  });
  assert.equal(reused, false);
  assert.ok(record.status === 'skipped' && record.reason === 'failed', JSON.stringify(record));
  assert.doesNotMatch(record.message, /\n/);
  assert.match(record.message, /^invalid configuration: diffThreshold: .+; dilateSize: /);
  assert.doesNotMatch(record.message, /fix or drop/, 'the hint is not part of the problem');
  assert.ok(!existsSync(join(dir, 'out', 'mask.png')));
});
