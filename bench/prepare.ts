/**
 * Throughput of `prepare` on this machine: a miniature FF++ tree from the talking-face clips
 * (raw/c23/c40, three synthetic methods), then one local run. Prints JSON lines, never fails.
 *   npm run bench:prepare -- [originals=4] [frames=20] [concurrency=2]
 * Stage rates are items per busy second of that stage, summed over concurrent jobs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFaceDetector } from '../src/data/faces.js';
import type { PrepareStage } from '../src/data/prepare/prepare.js';
import { buildMiniFfpp, talkingFaceVideos, type ClipSource } from '../src/data/synthetic/index.js';
import { runPrepare } from '../src/data/prepare/pool.js';

const [originals = 4, frames = 20, concurrency = 2] = process.argv.slice(2).map(Number);
const work = await mkdtemp(join(tmpdir(), 'msccnet-bench-'));
try {
  const v = talkingFaceVideos();
  const clips: Array<[string, number]> = [
    [v.cap12, 0],
    [v.franck, 120],
    [v.cap13, 5],
    [v.franck, 10],
    [v.cap12, 30],
    [v.franck, 60],
  ];
  const sources: ClipSource[] = Array.from({ length: originals }, (_, i) => {
    const [video, start] = clips[i % clips.length]!;
    return { id: String(i).padStart(3, '0'), video, start: start + 40 * Math.floor(i / clips.length) };
  });
  const pairs = Array.from({ length: Math.floor(originals / 2) }, (_, i): [string, string] => [sources[2 * i]!.id, sources[2 * i + 1]!.id]);
  let t0 = performance.now();
  const mini = await buildMiniFfpp({
    root: join(work, 'ffpp'),
    detector: await loadFaceDetector(),
    sources,
    width: 400,
    height: 300,
    splits: { train: pairs, val: [], test: [] },
    methods: { Deepfakes: 'region-swap', FaceSwap: 'self-blend', NeuralTextures: 'mouth-rewarp' },
  });
  console.log(
    JSON.stringify({ bench: 'prepare.build', originals, fakes: mini.fakes.length, clipFrames: mini.frames, seconds: round((performance.now() - t0) / 1000) }),
  );

  const busy: Record<PrepareStage, { items: number; seconds: number }> = {
    probe: { items: 0, seconds: 0 },
    detect: { items: 0, seconds: 0 },
    crop: { items: 0, seconds: 0 },
    mask: { items: 0, seconds: 0 },
  };
  t0 = performance.now();
  const report = await runPrepare({
    ffpp: mini.root,
    out: join(work, 'out'),
    frames,
    concurrency,
    methods: ['Deepfakes', 'FaceSwap', 'NeuralTextures'],
    onProgress: (e) => {
      if (e.kind === 'stage') {
        busy[e.stage].items += e.items;
        busy[e.stage].seconds += e.seconds;
      }
    },
  });
  const wall = (performance.now() - t0) / 1000;
  const units: Record<PrepareStage, string> = { probe: 'videos', detect: 'frames', crop: 'crops', mask: 'masks' };
  for (const [stage, b] of Object.entries(busy) as Array<[PrepareStage, { items: number; seconds: number }]>) {
    console.log(
      JSON.stringify({
        bench: 'prepare.stage',
        stage,
        unit: units[stage],
        items: b.items,
        busySeconds: round(b.seconds),
        perSecond: round(b.items / b.seconds),
      }),
    );
  }
  const videoFiles = 3 * (originals + mini.fakes.length);
  console.log(
    JSON.stringify({
      bench: 'prepare',
      cores: availableParallelism(),
      concurrency,
      frames,
      originals,
      videoFiles,
      crops: report.crops,
      wallSeconds: round(wall),
      originalsPerMinute: round((originals / wall) * 60),
      videoFilesPerMinute: round((videoFiles / wall) * 60),
      cropsPerSecond: round(report.crops / wall),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
