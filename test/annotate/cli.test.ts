import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { AnnotateReport } from '../../src/annotate/index.js';
import { DEFAULT_REPORT_NAME } from '../../src/annotate/index.js';
import { isTempName } from '../../src/io/atomic.js';
import { readGray } from '../../src/image/index.js';
import { annotationFixture } from '../helpers/annotation-fixture.js';
import { listFiles, runCli, startCli } from '../helpers/cli.js';

const { dir, pairs } = await annotationFixture();
const tmp = await mkdtemp(join(tmpdir(), 'msccnet-cli-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

test('msccnet annotate --pairs on the fixture list writes exactly the official masks and diffs', async () => {
  const out = join(tmp, 'list-out'),
    diffs = join(tmp, 'list-diff');
  const run = await runCli(['annotate', '--pairs', join(dir, 'pairs.txt'), '--out', out, '--diff', diffs, '--workers', '2']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(await readFile(join(out, DEFAULT_REPORT_NAME), 'utf8')) as AnnotateReport;
  assert.equal(report.pairs.length, pairs.length);
  for (const [i, pair] of pairs.entries()) {
    const record = report.pairs[i];
    assert.equal(record.output, pair.output);
    if (pair.official === 'raised') {
      assert.equal(record.status, 'skipped', pair.name);
      await assert.rejects(readFile(join(out, pair.output)), `${pair.name}: no mask may be written`);
      continue;
    }
    assert.equal(record.status, 'annotated', pair.name);
    const ours = await readGray(join(out, pair.output));
    assert.equal(ours.data.filter((v) => v !== 0 && v !== 255).length, 0);
    assert.deepEqual(ours.data, (await readGray(pair.mask!)).data, `${pair.name} mask`);
    assert.deepEqual((await readGray(join(diffs, pair.output))).data, (await readGray(pair.diff!)).data, `${pair.name} diff`);
  }
});

/**
 * An FF++-style tree from the fixture pairs: `<method>/<tgt>_<src>/<frame>.png` fakes and `youtube/<tgt>/<frame>.png`
 * reals, two frames per video, plus a fake without its real, a truncated fake and a fake of the wrong size.
 */
async function makeTree(root: string): Promise<number> {
  const put = async (from: string, to: string): Promise<void> => {
    await mkdir(dirname(join(root, to)), { recursive: true });
    await copyFile(from, join(root, to));
  };
  let fakes = 0;
  for (const [k, pair] of pairs.entries()) {
    const tgt = String(k).padStart(3, '0'),
      src = String(k + 500).padStart(3, '0');
    const method = k % 2 === 0 ? 'Deepfakes' : 'FaceSwap';
    for (const frame of ['000.png', '015.png']) {
      await put(pair.real, `youtube/${tgt}/${frame}`);
      await put(pair.fake, `${method}/${tgt}_${src}/${frame}`);
      fakes++;
    }
  }
  await put(pairs[0].fake, 'Deepfakes/900_901/000.png'); // no youtube/900
  await put(pairs[0].real, 'youtube/902/000.png');
  const bytes = await readFile(pairs[0].fake);
  await mkdir(join(root, 'FaceSwap/902_903'), { recursive: true });
  await writeFile(join(root, 'FaceSwap/902_903/000.png'), bytes.subarray(0, bytes.length >> 1));
  const odd = pairs.find((p) => p.width !== pairs[0].width || p.height !== pairs[0].height)!;
  await put(pairs[0].real, 'youtube/904/000.png');
  await put(odd.fake, 'Deepfakes/904_905/000.png');
  return fakes + 3;
}

test('a run killed with SIGKILL and rerun ends with the same outputs as an uninterrupted run, no partial files', async () => {
  const tree = join(tmp, 'ffpp');
  const total = await makeTree(tree);
  const args = (out: string, workers: number): string[] => ['annotate', '--real', tree, '--fake', tree, '--out', out, '--workers', String(workers)];

  const whole = await runCli(args(join(tmp, 'whole'), 2));
  assert.equal(whole.code, 0, whole.stderr);
  const wholeFiles = await listFiles(join(tmp, 'whole'));
  const report = JSON.parse(await readFile(join(tmp, 'whole', DEFAULT_REPORT_NAME), 'utf8')) as AnnotateReport;
  assert.equal(report.summary.pairs, total);
  const reasons = Object.fromEntries(report.pairs.filter((r) => r.status === 'skipped').map((r) => [r.output, r.status === 'skipped' && r.reason]));
  assert.equal(reasons['Deepfakes/900_901/000.png'], 'missing-real');
  assert.equal(reasons['FaceSwap/902_903/000.png'], 'unreadable');
  assert.equal(reasons['Deepfakes/904_905/000.png'], 'size-mismatch');
  const officialRaised = pairs.filter((p) => p.official === 'raised').length;
  assert.equal(report.summary.annotated, total - 3 - 2 * officialRaised);

  // Kill a one-worker run once a few masks exist, then rerun the same command.
  const resumed = join(tmp, 'resumed');
  const { child, done } = startCli(args(resumed, 1));
  let masksAtKill = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 25));
    masksAtKill = (await listFiles(resumed).catch(() => [])).filter((f) => f.endsWith('.png') && !isTempName(basename(f))).length; // temps end in .png too
    if (masksAtKill >= 4 || child.exitCode !== null) break; // an early exit fails the signal assertion below
  }
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(masksAtKill < report.summary.annotated, 'the run was killed part way');
  const rerun = await runCli(args(resumed, 2));
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, /\((\d+) already there\)/);
  assert.ok(Number(/\((\d+) already there\)/.exec(rerun.stdout)![1]) >= 4);

  const resumedFiles = await listFiles(resumed);
  assert.deepEqual(
    resumedFiles.filter((f) => isTempName(basename(f))),
    [],
  );
  assert.deepEqual(resumedFiles, wholeFiles);
  for (const file of wholeFiles) {
    assert.deepEqual(await readFile(join(resumed, file)), await readFile(join(tmp, 'whole', file)), file);
  }
});

test('exit status is non-zero only when nothing could be annotated', async () => {
  const list = join(tmp, 'bad-pairs.txt');
  await writeFile(list, `${join(tmp, 'nope.png')} ${pairs[0].fake} a.png\n${pairs[0].real} ${pairs[0].real} b.png\n`);
  const run = await runCli(['annotate', '--pairs', list, '--out', join(tmp, 'bad-out'), '--workers', '1']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /none of the 2 pairs could be annotated/);
  const report = JSON.parse(await readFile(join(tmp, 'bad-out', DEFAULT_REPORT_NAME), 'utf8')) as AnnotateReport;
  assert.deepEqual(
    report.pairs.map((r) => r.status === 'skipped' && r.reason),
    ['missing-real', 'no-change'],
  );
});

test('an output folder that would overwrite the input frames is refused before any work', async () => {
  const tree = join(tmp, 'ffpp');
  const run = await runCli(['annotate', '--real', tree, '--fake', tree, '--out', tree, '--workers', '1']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /out: expected a folder apart from the input frames/);
});
