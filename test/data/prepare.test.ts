/**
 * End to end: a miniature FF++ download (real talking-face clips as originals, synthetic fakes with
 * known masks at raw/c23/c40, split JSONs, plus deliberate defects) through `msccnet prepare`:
 * locally, killed and resumed, and distributed over a real Redis with a worker killed mid-job.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { loadFaceDetector } from '../../src/data/faces.js';
import { fakePath, originalPath, type Compression } from '../../src/data/layout.js';
import type { ManifestEntry } from '../../src/data/manifest.js';
import type { PrepareReport } from '../../src/data/prepare/index.js';
import { buildMiniFfpp, talkingFaceVideos, type MiniFfpp } from '../../src/data/synthetic/index.js';
import { run } from '../../src/data/video.js';

const FRAMES = 6; // per video: floor(linspace(0, 23, 6)) of 24-frame clips
const INDICES = [0, 4, 9, 13, 18, 23];
const BLANK: Record<string, number[]> = { '001': [12, 13] }; // frame 13 of 001 has no face
const [WIDTH, HEIGHT] = [400, 300]; // the mini download's frame size
const IDS = ['000', '001'];
const SPLIT: Record<string, string> = { '000': 'test', '001': 'test' };
const BUILT = { Deepfakes: 'region-swap', FaceSwap: 'self-blend', NeuralTextures: 'mouth-rewarp' } as const;
const CORRUPT = { method: 'FaceSwap', name: '001_000', comp: 'c40' } as const;
const DELETED = { method: 'NeuralTextures', name: '000_001', comp: 'c23' } as const;
// Face2Face is requested but absent from the download: every fake of it must be reported missing.
const METHODS_ARG = 'Deepfakes,FaceSwap,NeuralTextures,Face2Face';
const COMPS = ['raw', 'c23', 'c40'] as const;

let work: string;
let mini: MiniFfpp;
const repo = process.cwd();

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'msccnet-prepare-'));
  const v = talkingFaceVideos();
  mini = await buildMiniFfpp({
    root: join(work, 'ffpp'),
    detector: await loadFaceDetector(),
    width: WIDTH,
    height: HEIGHT,
    blank: BLANK,
    methods: BUILT,
    sources: [
      { id: '000', video: v.cap12, start: 0 },
      { id: '001', video: v.franck, start: 120 },
    ],
    splits: { train: [], val: [], test: [['000', '001']] },
  });
  await writeFile(fakePath(mini.root, CORRUPT.method, CORRUPT.comp, CORRUPT.name), Buffer.alloc(5000, 7));
  await unlink(fakePath(mini.root, DELETED.method, DELETED.comp, DELETED.name));
});
after(() => rm(work, { recursive: true, force: true }));

/** `msccnet …` as a child process (the CLI the user runs), with its output collected. */
function cli(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
  log: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/index.ts'), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((res) =>
    child.on('close', (code, signal) => res({ code, signal, out, err })),
  );
  return { child, done, log: () => err };
}
const prepareArgs = (out: string): string[] => ['prepare', '--ffpp', mini.root, '--out', out, '--frames', String(FRAMES), '--methods', METHODS_ARG];

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under `dir` with its bytes, by relative path. */
async function tree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files.set(relative(dir, join(e.parentPath, e.name)), await readFile(join(e.parentPath, e.name)));
  }
  return files;
}
function assertSameTree(a: Map<string, Buffer>, b: Map<string, Buffer>, label: string): void {
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${label}: different file lists`);
  const differing = [...a.keys()].filter((k) => !a.get(k)!.equals(b.get(k)!));
  assert.deepEqual(differing, [], `${label}: files differ`);
}

const readJsonl = async (path: string): Promise<ManifestEntry[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ManifestEntry);

async function gray(path: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

let outA: string;
let treeA: Map<string, Buffer>;

test('download: every c23 and c40 video is byte for byte what the ffmpeg command line encodes from its raw frames', async () => {
  // The renditions are encoded in this process (src/data/libav.ts), after face detection, forging and
  // PNG writes have used its heap: the reference is a fresh ffmpeg process given the same frames.
  const videos = [
    ...IDS.map((id) => (comp: Compression) => originalPath(mini.root, comp, id)),
    ...mini.fakes
      .filter((f) => !(f.method === CORRUPT.method && f.name === CORRUPT.name) && !(f.method === DELETED.method && f.name === DELETED.name))
      .map((f) => (comp: Compression) => fakePath(mini.root, f.method, comp, f.name)),
  ];
  const scratch = join(work, 'reference.mp4');
  for (const path of videos) {
    const frames = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', path('raw'), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
    assert.equal(frames.stdout.length, WIDTH * HEIGHT * 3 * mini.frames, path('raw'));
    for (const [comp, crf] of [
      ['c23', 23],
      ['c40', 40],
    ] as const) {
      const input = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${WIDTH}x${HEIGHT}`, '-r', '25', '-i', 'pipe:0'];
      const encode = ['-c:v', 'libx264', '-crf', String(crf), '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-threads', '1', '-an'];
      const r = await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...input, ...encode, scratch], frames.stdout);
      assert.equal(r.code, 0, r.stderr);
      assert.ok((await readFile(path(comp))).equals(await readFile(scratch)), `${path(comp)} differs from ffmpeg's encode of the same frames`);
    }
  }
});

test('prepare: counts match the built tree, every fake has a mask close to the known one, every gap has a reason', async (t: TestContext) => {
  outA = join(work, 'out-local');
  const r = await cli(prepareArgs(outA)).done;
  assert.equal(r.code, 0, r.err);
  const manifest = await readJsonl(join(outA, 'manifest.jsonl'));
  const report = JSON.parse(await readFile(join(outA, 'report.json'), 'utf8')) as PrepareReport;

  // The manifest, predicted from what was built: every rendition × sampled frame with a face,
  // minus the corrupt and the deleted rendition.
  const faceFrames = (id: string): number[] => INDICES.filter((f) => !(BLANK[id] ?? []).includes(f));
  const expected: string[] = [];
  for (const id of IDS) for (const c of COMPS) for (const f of faceFrames(id)) expected.push(`youtube/${id}/${c}/${f}/${SPLIT[id]}`);
  for (const fk of mini.fakes) {
    for (const c of COMPS) {
      if ([CORRUPT, DELETED].some((d) => d.method === fk.method && d.name === fk.name && d.comp === c)) continue;
      const target = fk.name.split('_')[0]!;
      for (const f of faceFrames(target)) expected.push(`${fk.method}/${fk.name}/${c}/${f}/${SPLIT[target]}`);
    }
  }
  const got = manifest.map((e) => `${e.method}/${e.video}/${e.compression}/${e.frame}/${e.split}`);
  assert.deepEqual([...got].sort(), [...expected].sort());

  for (const e of manifest) {
    assert.ok(existsSync(join(outA, e.image)), `${e.image} missing`);
    assert.equal(e.label, e.method === 'youtube' ? 0 : 1);
    if (e.label === 1) assert.ok(e.mask !== null && existsSync(join(outA, e.mask)), `${e.image}: no mask file`);
  }

  // Masks (made on raw pairs, shared by c23/c40) against the known synthetic region.
  const ious: Record<string, number[]> = {};
  for (const e of manifest.filter((x) => x.label === 1 && x.compression === 'raw')) {
    const mask = await gray(join(outA, e.mask!));
    const truth = await gray(join(mini.truthDir, e.method, `${e.video}.png`));
    const [x0, y0, side] = e.box!;
    assert.deepEqual([mask.width, mask.height], [side, side]);
    let inter = 0;
    let union = 0;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const m = mask.data[y * side + x]! > 127;
        const g = truth.data[(y0 + y) * truth.width + (x0 + x)]! > 5; // alpha > 0.02: where the fake differs
        if (m && g) inter++;
        if (m || g) union++;
      }
    }
    (ious[e.method] ??= []).push(union ? inter / union : 1);
  }
  const all = Object.values(ious).flat();
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  for (const [m, v] of Object.entries(ious))
    t.diagnostic(`IoU ${m} (${BUILT[m as keyof typeof BUILT]}): mean ${mean(v).toFixed(3)}, min ${Math.min(...v).toFixed(3)}, n ${v.length}`);
  t.diagnostic(`IoU all raw fake crops: mean ${mean(all).toFixed(3)}, n ${all.length}`);
  assert.ok(mean(all) >= 0.75, `mean IoU ${mean(all)}`);

  // No frame missing without a recorded reason: every (video, rendition, sampled frame) is in the
  // manifest or covered by a skip of that video (whole, rendition or frame) or a no-face frame of its original.
  const inManifest = new Set(manifest.map((e) => `${e.method}/${e.video}/${e.compression}/${e.frame}`));
  const names = IDS.flatMap((id) => [`youtube/${id}`]).concat(
    ['Deepfakes', 'FaceSwap', 'NeuralTextures', 'Face2Face'].flatMap((m) => ['000_001', '001_000'].map((n) => `${m}/${n}`)),
  );
  const unexplained: string[] = [];
  for (const video of names) {
    const original = video.startsWith('youtube/') ? video : `youtube/${video.split('/')[1]!.split('_')[0]}`;
    for (const c of COMPS) {
      for (const f of INDICES) {
        if (inManifest.has(`${video}/${c}/${f}`)) continue;
        const covered = report.skipped.some(
          (s) =>
            (s.video === video && (s.compression === undefined || s.compression === c) && (s.frame === undefined || s.frame === f)) ||
            (s.video === original && s.frame === f),
        );
        if (!covered) unexplained.push(`${video} ${c} ${f}`);
      }
    }
  }
  assert.deepEqual(unexplained, []);
  const reasons = report.skipped.map((s) => `${s.video} ${s.compression ?? '-'} ${s.frame ?? '-'}: ${s.reason}`);
  assert.ok(
    reasons.some((s) => /^youtube\/001 - 13: no face detected/.test(s)),
    reasons.join('\n'),
  );
  assert.ok(
    reasons.some((s) => s.startsWith(`${CORRUPT.method}/${CORRUPT.name} ${CORRUPT.comp} -`)),
    'corrupt rendition reported',
  );
  assert.ok(
    reasons.some((s) => s.startsWith(`${DELETED.method}/${DELETED.name} ${DELETED.comp} -: rendition not in the download`)),
    'missing rendition reported',
  );
  assert.equal(reasons.filter((s) => /^Face2Face\/\d+_\d+ - -: fake video named by the split is not in the download/.test(s)).length, 2);
  assert.match(r.out, /skipped youtube\/001 frame 13: no face detected/);
  assert.deepEqual(report.failedJobs, []);

  const stats = await cli(['dataset', 'stats', join(outA, 'manifest.jsonl')]).done;
  assert.equal(stats.code, 0, stats.err);
  assert.match(stats.out, /total \(Table 1\)/);
  treeA = await tree(outA);
});

test('resume: a run killed with SIGKILL part way and restarted writes byte-identical outputs', async () => {
  assert.ok(treeA, 'needs the local run');
  const outB = join(work, 'out-resume');
  const first = cli([...prepareArgs(outB), '--concurrency', '1']);
  // Kill inside the second job: the first is finished, the second has written some crops.
  await until('the second job to start writing', () => existsSync(join(outB, 'jobs', '000.json')) && existsSync(join(outB, 'raw', 'youtube', '001')));
  first.child.kill('SIGKILL');
  const killed = await first.done;
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(!existsSync(join(outB, 'manifest.jsonl')), 'the run was killed before finishing');
  assert.ok(!existsSync(join(outB, 'jobs', '001.json')));
  const second = await cli(prepareArgs(outB)).done;
  assert.equal(second.code, 0, second.err);
  assert.match(second.err, /1 of 2 videos already finished/);
  assertSameTree(treeA, await tree(outB), 'resumed vs uninterrupted');
});

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

test('distributed: two workers over Redis give the local outputs, even when one dies mid-job', async (t: TestContext) => {
  assert.ok(treeA, 'needs the local run');
  const port = await freePort();
  const redisDir = await mkdtemp(join(work, 'redis-'));
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  t.after(() => {
    redis.kill('SIGKILL');
  });
  const url = `redis://127.0.0.1:${port}`;
  await until(
    'redis',
    async () =>
      new Promise<boolean>((res) => {
        const sock = new Socket();
        sock
          .once('connect', () => {
            sock.destroy();
            res(true);
          })
          .once('error', () => res(false))
          .connect(port, '127.0.0.1');
      }),
    20_000,
  );

  const workers = [0, 1].map(() => cli(['worker', '--redis', url, '--lock-seconds', '10']));
  t.after(() => {
    for (const w of workers) w.child.kill('SIGKILL');
  });
  await until('workers ready', () => workers.every((w) => w.log().includes('ready')));
  const outC = join(work, 'out-redis');
  const run = cli([...prepareArgs(outC), '--redis', url]);
  // Kill worker 0 in the middle of its first job.
  await until('worker 0 to start a job', () => /started/.test(workers[0]!.log()));
  const victimJob = /worker: (\d+) started/.exec(workers[0]!.log())![1]!;
  await new Promise((r) => setTimeout(r, 1500));
  workers[0]!.child.kill('SIGKILL');
  const r = await run.done;
  assert.equal(r.code, 0, `${r.err}\nworker 1:\n${workers[1]!.log()}`);
  assert.doesNotMatch(workers[0]!.log(), new RegExp(`${victimJob} done`), 'worker 0 died inside the job');
  assert.match(workers[1]!.log(), new RegExp(`${victimJob} done`), "the surviving worker finished the dead worker's job");
  assertSameTree(treeA, await tree(outC), 'distributed vs local');
  workers[1]!.child.kill('SIGTERM');
  await workers[1]!.done;
});
