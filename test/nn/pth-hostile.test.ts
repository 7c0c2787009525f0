/**
 * The .pth reader under hostile files (issue 31): each file of the corpus (test/helpers/hostile-pth.ts)
 * fails with its one-line MSCCNET_PTH error, through the library, the CLI's `weights inspect`,
 * `weights convert` and `detect --model`, and loadModelFile; none may take 5 s or 512 MiB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import sharp from 'sharp';
import { MsccnetError } from '../../src/errors.js';
import { decodePth, flattenPth, PthTensor } from '../../src/nn/pth/index.js';
import { checkpoint, hostilePthCorpus, PickleWriter, stateDictPickle, zerosBomb } from '../helpers/hostile-pth.js';
import { runCli } from '../helpers/cli.js';
import type { ChildResult } from '../helpers/pth-hostile-child.js';

const corpus = hostilePthCorpus();
const TIME_LIMIT_MS = 5000;
const RSS_LIMIT_MIB = 512;

test('the zip bomb is real: each 1 MiB block of its stream inflates to 1 MiB of zeros', () => {
  const { stream, block } = zerosBomb(2);
  assert.equal(stream.length, 2 * block.length + 2);
  assert.ok(block.length < 2048, `${block.length} bytes per MiB`);
  const two = inflateRawSync(stream);
  assert.equal(two.length, 2 * 2 ** 20);
  assert.ok(two.every((b) => b === 0));
});

for (const c of corpus) {
  test(`library: ${c.name} (${c.what})`, { timeout: TIME_LIMIT_MS }, () => {
    if (c.problem === null) {
      decodePth(c.bytes, `${c.name}.pth`);
      return;
    }
    assert.throws(
      () => decodePth(c.bytes, `${c.name}.pth`),
      (err: unknown) => {
        assert.ok(err instanceof MsccnetError, String(err));
        assert.equal(err.code, c.code ?? 'MSCCNET_PTH');
        assert.ok(err.problem.startsWith(`${c.name}.pth: `), err.problem);
        assert.match(err.problem, c.problem!);
        assert.ok(!err.problem.includes('\n'), 'one line');
        return true;
      },
    );
  });
}

test('a memo-shared DAG is walked once: flattenPth lists a shared container under its first path', () => {
  const c = corpus.find((k) => k.name === 'memo-dag-40')!;
  const flat = flattenPth(decodePth(c.bytes, 'dag').root);
  assert.deepEqual([...flat.keys()], [`${'a/'.repeat(39)}leaf`]);
});

test('LONG1/LONG4 integers decode exactly (two’s complement, little-endian) up to 1024 bytes', () => {
  const encode = (v: bigint, n: number) => {
    const out: number[] = [];
    let u = v < 0n ? (1n << BigInt(8 * n)) + v : v;
    for (let i = 0; i < n; i++, u >>= 8n) out.push(Number(u & 0xffn));
    return out;
  };
  for (const v of [2n ** 8000n - 12345n, -(3n ** 5000n), -1n, 255n]) {
    const w = new PickleWriter().op(0x8b).u32(1024);
    w.raw(Uint8Array.from(encode(v, 1024)));
    const root = decodePth(checkpoint(w.bytes()), 'long').root;
    assert.equal(BigInt(root as number | bigint), v);
  }
});

test('APPENDS of 200,000 items builds the list (no call-stack overflow)', () => {
  const w = new PickleWriter().op(0x5d, 0x28);
  for (let i = 0; i < 200_000; i++) w.op(0x4b, i & 0xff); // BININT1
  const root = decodePth(checkpoint(w.op(0x65).bytes()), 'appends').root;
  assert.ok(Array.isArray(root));
  assert.equal(root.length, 200_000);
  assert.equal(root[1000], 1000 & 0xff);
});

test('a stride-0 view within bounds still reads (an expanded bias), materialised to its logical elements', () => {
  const bytes = checkpoint(stateDictPickle([['b', { numel: 1, size: [3, 4], stride: [0, 0] }]]));
  const t = flattenPth(decodePth(bytes, 'expand').root).get('b');
  assert.ok(t instanceof PthTensor);
  assert.deepEqual([...(t.data() as Float32Array)], new Array(12).fill(1));
});

test('the corpus through weights inspect/convert, detect --model and loadModelFile (one child): one-line errors, < 5 s, < 512 MiB', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-hostile-pth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const work = join(dir, 'work');
  const files = join(dir, 'corpus');
  await mkdir(work);
  await mkdir(files);
  for (const c of corpus) await writeFile(join(files, `${c.name}.pth`), c.bytes);
  const image = join(dir, 'face.png');
  await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toFile(image);
  const resultsPath = join(dir, 'results.json');
  const child = fileURLToPath(new URL('../helpers/pth-hostile-child.ts', import.meta.url));
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, ['--import', 'tsx', child, files, image, work, resultsPath], { stdio: ['ignore', 'ignore', 'inherit'] }).on('close', resolve);
  });
  assert.equal(code, 0);
  const results = JSON.parse(await readFile(resultsPath, 'utf8')) as ChildResult[];
  assert.equal(results.length, corpus.length * 4);
  for (const r of results) {
    const c = corpus.find((k) => `${k.name}.pth` === r.file)!;
    const what = `${r.command} ${r.file}`;
    assert.ok(r.ms < TIME_LIMIT_MS, `${what}: ${r.ms.toFixed(0)} ms`);
    assert.ok(r.error === null || 'code' in r.error, `${what}: not a typed error: ${JSON.stringify(r.error)}`);
    if (c.problem === null) {
      // a valid file without a state dict: inspect describes it, the others say there is no state dict
      if (r.command === 'inspect') assert.equal(r.error, null, what);
      else assert.match(r.error && 'code' in r.error ? r.error.problem : '', /no state dict/, what);
      continue;
    }
    assert.ok(r.error !== null && 'code' in r.error, `${what} must fail`);
    assert.equal(r.error.code, c.code ?? 'MSCCNET_PTH', what);
    assert.match(r.error.problem, c.problem, what);
    assert.ok(r.error.problem.includes(join(files, r.file)), `${what} names the file`);
    assert.ok(!r.error.problem.includes('\n'), `${what}: one line`);
    if (r.command === 'convert') assert.ok(!existsSync(join(work, `${r.file}.safetensors`)), `${what}: nothing written`);
  }
  const peak = Math.max(...results.map((r) => r.peakRssMiB));
  assert.ok(peak < RSS_LIMIT_MIB, `peak RSS ${peak.toFixed(0)} MiB`);
});

test('the msccnet CLI prints the one-line error and exits 1: convert of the zero-stride view writes nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-hostile-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const c = corpus.find((k) => k.name === 'zero-stride')!;
  const file = join(dir, 'zero-stride.pth');
  await writeFile(file, c.bytes);
  const out = join(dir, 'out.safetensors');
  const r = await runCli(['weights', 'convert', file, '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stderr); // the problem, then the hint
  assert.ok(lines[0].startsWith(`msccnet: ${file}: corrupt tensor: `), lines[0]);
  assert.match(lines[0], c.problem!);
  assert.match(lines[1], /^ {2}→ /);
  assert.ok(!existsSync(out));
});
