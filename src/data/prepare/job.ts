/** One prepare job, stage by stage: probe, faces, crops, masks, then its record (which marks it done). */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { problemLine } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { cropToPng, enlargeBox, type CropBox } from '../crops.js';
import { loadFaceDetector, type FaceDetector } from '../faces.js';
import { COMPRESSIONS, type Compression, type Renditions, type Split } from '../layout.js';
import { compareEntries, type ManifestEntry } from '../manifest.js';
import { loadAnnotator, type Annotator } from '../masks.js';
import { probeVideo, readFrames, sampleFrameIndices, VideoError, type Frame, type VideoInfo } from '../video.js';
import { optionsKey, type PrepareOptions } from './options.js';
import { cropPath, jobRecordPath, maskPath, type PrepareJob } from './plan.js';

/** Why something is absent from the manifest. `frame` is absent when a whole video is skipped. */
export interface Skip {
  video: string; // `youtube/<id>` or `<Method>/<t>_<s>`
  compression?: Compression;
  frame?: number;
  reason: string;
}

/** What a finished job wrote; saved as `jobs/<id>.json`, which marks the job done. */
export interface JobRecord {
  id: string;
  split: Split;
  optionsKey: string;
  /** {@link inputsKey} of the videos it read: a replaced video makes the record stale */
  inputsKey: string;
  frameCount: number;
  indices: number[];
  detectedOn: Compression | null;
  boxes: Array<{ frame: number; box: [number, number, number]; score: number } | { frame: number; box: null; reason: string }>;
  entries: ManifestEntry[];
  skipped: Skip[];
}

/** Skip reasons of inputs absent from the download: a rerun would find them absent again. */
const ABSENT_FAKE = 'fake video named by the split is not in the download';
const ABSENT_RENDITION = 'rendition not in the download';

/** Whether a finished job skipped something it could have read (an unreadable video, a failed frame). */
export function hasFailures(rec: JobRecord): boolean {
  return rec.skipped.some((s) => s.reason !== ABSENT_FAKE && s.reason !== ABSENT_RENDITION);
}

/**
 * Identity of a job's inputs: size and modification time of every rendition it reads, by role
 * (`youtube.raw`, `Deepfakes/000_003.c23`), so a video replaced by another copy (or added) makes
 * its job run again, while moving the download folder does not.
 */
export async function inputsKey(job: PrepareJob): Promise<string> {
  const videos: Array<[string, string]> = [
    ...Object.entries(job.original).map(([c, p]) => [`youtube.${c}`, p] as [string, string]),
    ...job.fakes.flatMap((f) => Object.entries(f.videos).map(([c, p]) => [`${f.method}/${f.name}.${c}`, p] as [string, string])),
  ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const identity = [];
  for (const [role, path] of videos) {
    const s = await stat(path).catch(() => null);
    identity.push([role, s?.size ?? null, s?.mtimeMs ?? null]);
  }
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

export type PrepareStage = 'probe' | 'detect' | 'crop' | 'mask';
export type PrepareEvent =
  | { kind: 'planned'; jobs: number; finished: number; estimate: Record<PrepareStage, number> }
  | { kind: 'stage'; job: string; stage: PrepareStage; items: number; seconds: number }
  | { kind: 'job'; job: string; outcome: 'done' | 'reused' | 'failed'; skipped: number; error?: string };

export interface JobDeps {
  detector?: FaceDetector;
  annotate?: Annotator;
  onProgress?: (e: PrepareEvent) => void;
}

/**
 * A finished job's record when it was made with these options from the same inputs (and, with
 * `retryFailed`, without failures), else null: the job is to be run.
 */
export async function finishedRecord(outDir: string, job: PrepareJob, key: string, o: { retryFailed?: boolean } = {}): Promise<JobRecord | null> {
  let rec: JobRecord;
  try {
    rec = JSON.parse(await readFile(jobRecordPath(outDir, job.id), 'utf8')) as JobRecord;
  } catch {
    return null;
  }
  if (rec.optionsKey !== key || rec.inputsKey !== (await inputsKey(job))) return null;
  return o.retryFailed && hasFailures(rec) ? null : rec;
}

/**
 * Runs one job: frames at the reference positions, faces on the best original rendition, the same
 * box for every fake and compression, masks from the best common rendition (raw when present),
 * all files written atomically, then `jobs/<id>.json`. Bad input never throws: it becomes a
 * {@link Skip}. Reuses a finished record made with the same options.
 */
export async function processJob(job: PrepareJob, outDir: string, opts: PrepareOptions, deps: JobDeps & { retryFailed?: boolean } = {}): Promise<JobRecord> {
  const key = optionsKey(opts);
  const done = await finishedRecord(outDir, job, key, { retryFailed: deps.retryFailed });
  if (done) {
    deps.onProgress?.({ kind: 'job', job: job.id, outcome: 'reused', skipped: done.skipped.length });
    return done;
  }
  const run: JobRun = {
    job,
    outDir,
    opts,
    key,
    inputsKey: await inputsKey(job), // before reading: a video replaced during the job leaves the record stale
    skipped: job.missing.map((m) => ({ video: `${m.method}/${m.name}`, reason: ABSENT_FAKE })),
    entries: [],
    unusable: new Set(),
    onProgress: deps.onProgress,
  };
  const { original, fakes } = await probe(run);
  if (!original) {
    run.skipped.push({ video: `youtube/${job.id}`, reason: 'no readable original video: its fakes cannot be cropped' });
    return writeRecord(run, null, 0, [], []);
  }
  // One frame list for the original and all its fakes: positions over the shortest of them.
  const frameCount = Math.min(original.info.frames, ...fakes.map((f) => f.best.info.frames));
  const indices = sampleFrameIndices(frameCount, opts.frames);
  const faces = await detectFaces(run, original, indices, deps.detector);
  const realCrops = await cropReals(run, faces);
  const annotate = deps.annotate ?? (await loadAnnotator());
  for (const fake of fakes) {
    const annotated = await annotateFake(run, faces, fake, realCrops, annotate);
    if (annotated) await cropFake(run, faces, fake, annotated);
  }
  return writeRecord(run, original.comp, frameCount, indices, faces.records);
}

/** What the stages of one job share: its inputs, and the skips and manifest entries they collect in order. */
interface JobRun {
  readonly job: PrepareJob;
  readonly outDir: string;
  readonly opts: PrepareOptions;
  readonly key: string;
  readonly inputsKey: string;
  readonly skipped: Skip[];
  readonly entries: ManifestEntry[];
  /** Renditions found unreadable (or too large): later stages never decode them. */
  readonly unusable: Set<string>;
  readonly onProgress?: (e: PrepareEvent) => void;
}

/** A video's rendition that the later stages read, and its stream. */
interface Probed {
  comp: Compression;
  info: VideoInfo;
}
type ProbedFake = PrepareJob['fakes'][number] & { best: Probed };

/** The face box of each sampled frame (found on the original) and the frame size every rendition must have. */
interface Faces {
  boxes: Map<number, CropBox>;
  records: JobRecord['boxes'];
  width: number;
  height: number;
}

/** A fake's masks: the rendition they came from, its crops, and the frames that got a mask. */
interface AnnotatedFake {
  maskComp: Compression;
  crops: Map<number, Buffer>;
  masks: Set<number>;
}

function reportStage(run: JobRun, stage: PrepareStage, items: number, t0: number): void {
  run.onProgress?.({ kind: 'stage', job: run.job.id, stage, items, seconds: (performance.now() - t0) / 1000 });
}

/**
 * Frame counts from the best readable rendition of each video (renditions are re-encodes of one
 * another); a rendition that fails here is skipped with ffprobe's reason, as is a requested one absent from the download.
 */
async function probe(run: JobRun): Promise<{ original: Probed | null; fakes: ProbedFake[] }> {
  const { job, opts } = run;
  const t0 = performance.now();
  const original = await bestRendition(run, `youtube/${job.id}`, job.original);
  const fakes: ProbedFake[] = [];
  for (const f of job.fakes) {
    const best = await bestRendition(run, `${f.method}/${f.name}`, f.videos);
    if (best) fakes.push({ ...f, best });
    else run.skipped.push({ video: `${f.method}/${f.name}`, reason: 'no readable rendition' });
  }
  reportStage(run, 'probe', 1 + job.fakes.length, t0);
  for (const [video, r] of [[`youtube/${job.id}`, job.original] as const, ...job.fakes.map((f) => [`${f.method}/${f.name}`, f.videos] as const)]) {
    for (const comp of opts.compressions) if (!r[comp]) run.skipped.push({ video, compression: comp, reason: ABSENT_RENDITION });
  }
  return { original, fakes };
}

/** The first rendition, in {@link COMPRESSIONS} order, that ffprobe reads and that is not too large. */
async function bestRendition(run: JobRun, video: string, r: Renditions): Promise<Probed | null> {
  const { opts, skipped, unusable } = run;
  for (const comp of COMPRESSIONS) {
    const path = r[comp];
    if (!path) continue;
    try {
      const info = await probeVideo(path);
      if (info.width * info.height > opts.maxPixels) {
        skipped.push({
          video,
          compression: comp,
          reason: `${info.width}×${info.height} frames are more than ${opts.maxPixels / 1e6} megapixels (--max-megapixels)`,
        });
        unusable.add(path);
        continue;
      }
      return { comp, info };
    } catch (err) {
      if (!(err instanceof VideoError)) throw err;
      skipped.push({ video, compression: comp, reason: problemLine(err) });
      unusable.add(path);
    }
  }
  return null;
}

/** Faces are found on the best original rendition (raw when present): the reference annotates raw frames. */
async function detectFaces(run: JobRun, original: Probed, indices: number[], given?: FaceDetector): Promise<Faces> {
  const { job, opts } = run;
  const t0 = performance.now();
  const detector = given ?? (await loadFaceDetector({ minConfidence: opts.minConfidence }));
  const { width, height } = original.info;
  const detFrames = await readFrames(job.original[original.comp]!, indices);
  const boxes = new Map<number, CropBox>();
  const records: JobRecord['boxes'] = [];
  for (const [k, frame] of indices.entries()) {
    const f = detFrames[k];
    let reason: string | null = null;
    if (!f) reason = `original frame could not be decoded (${original.comp})`;
    else {
      const face = (await detector.detect(f.rgb, f.width, f.height))[0];
      if (!face) reason = `no face detected on the ${original.comp} original frame (score ≥ ${opts.minConfidence})`;
      else {
        const box = enlargeBox(face.box, opts.boxScale, f.width, f.height);
        boxes.set(frame, box);
        records.push({ frame, box: [box.x, box.y, box.size], score: Math.round(face.score * 1e4) / 1e4 });
      }
    }
    if (reason) {
      records.push({ frame, box: null, reason });
      run.skipped.push({ video: `youtube/${job.id}`, frame, reason });
    }
  }
  reportStage(run, 'detect', indices.length, t0);
  return { boxes, records, width, height };
}

/**
 * PNG crops of one rendition at the boxed frames. A rendition that cannot be decoded, frames it
 * lacks, or a frame size unlike the original's are skipped with their reason.
 */
async function cropFrames(run: JobRun, faces: Faces, video: string, path: string | undefined, comp: Compression): Promise<Map<number, Buffer>> {
  const { skipped, unusable } = run;
  const { boxes, width, height } = faces;
  const out = new Map<number, Buffer>();
  if (!path || unusable.has(path)) return out;
  const frames = [...boxes.keys()];
  let decoded: Array<Frame | undefined>;
  try {
    decoded = await readFrames(path, frames);
  } catch (err) {
    if (!(err instanceof VideoError)) throw err;
    skipped.push({ video, compression: comp, reason: problemLine(err) });
    unusable.add(path);
    return out;
  }
  for (const [k, frame] of frames.entries()) {
    const f = decoded[k];
    if (!f) {
      skipped.push({ video, compression: comp, frame, reason: 'frame could not be decoded' });
      continue;
    }
    if (f.width !== width || f.height !== height) {
      skipped.push({ video, compression: comp, frame, reason: `frame is ${f.width}×${f.height}, the original ${width}×${height}` });
      continue;
    }
    out.set(frame, await cropToPng(f.rgb, width, height, boxes.get(frame)!, run.opts.cropSide ?? undefined));
  }
  return out;
}

/** Writes the original's crops (label 0) in every requested compression; returns them by compression for the masks. */
async function cropReals(run: JobRun, faces: Faces): Promise<Map<Compression, Map<number, Buffer>>> {
  const { job, opts } = run;
  const t0 = performance.now();
  let cropped = 0;
  const realCrops = new Map<Compression, Map<number, Buffer>>();
  for (const comp of opts.compressions) {
    const c = await cropFrames(run, faces, `youtube/${job.id}`, job.original[comp], comp);
    realCrops.set(comp, c);
    for (const [frame, png] of c) {
      const image = cropPath(comp, 'youtube', job.id, frame);
      await writeFileAtomic(join(run.outDir, image), png);
      run.entries.push({
        split: job.split,
        method: 'youtube',
        compression: comp,
        video: job.id,
        frame,
        image,
        mask: null,
        label: 0,
        box: boxTuple(faces.boxes.get(frame)!),
      });
      cropped++;
    }
  }
  reportStage(run, 'crop', cropped, t0);
  return realCrops;
}

/**
 * Writes a fake's masks, annotated against the real crops of its best rendition shared with the
 * original (raw when present), which serve every compression as in the reference; null when none is shared.
 */
async function annotateFake(
  run: JobRun,
  faces: Faces,
  f: ProbedFake,
  realCrops: Map<Compression, Map<number, Buffer>>,
  annotate: Annotator,
): Promise<AnnotatedFake | null> {
  const { job, skipped } = run;
  const video = `${f.method}/${f.name}`;
  const maskComp = maskCompOf(run, f.videos);
  if (!maskComp) {
    skipped.push({ video, reason: 'no rendition shared with the original to annotate' });
    return null;
  }
  let real = realCrops.get(maskComp);
  if (!real) {
    real = await cropFrames(run, faces, `youtube/${job.id}`, job.original[maskComp], maskComp);
    realCrops.set(maskComp, real);
  }
  const t0 = performance.now();
  const crops = await cropFrames(run, faces, video, f.videos[maskComp], maskComp);
  const masks = new Set<number>();
  for (const [frame, fakePng] of crops) {
    const realPng = real.get(frame);
    if (!realPng) {
      skipped.push({ video, frame, reason: `no real ${maskComp} crop of this frame to annotate against` });
      continue;
    }
    const m = await annotate(realPng, fakePng);
    if (!m.mask) {
      skipped.push({ video, frame, reason: `annotation (${maskComp}): ${m.reason ?? 'no mask'}` });
      continue;
    }
    await writeFileAtomic(join(run.outDir, maskPath(f.method, f.name, frame)), m.mask);
    masks.add(frame);
  }
  reportStage(run, 'mask', crops.size, t0);
  return { maskComp, crops, masks };
}

/**
 * The rendition a fake's masks come from: the first, in {@link COMPRESSIONS} order, that it shares
 * with the original and that no stage found unreadable (raw when present), as in the reference.
 */
function maskCompOf(run: JobRun, videos: Renditions): Compression | undefined {
  const usable = (path: string | undefined): boolean => path !== undefined && !run.unusable.has(path);
  return COMPRESSIONS.find((c) => usable(videos[c]) && usable(run.job.original[c]));
}

/** Writes a fake's crops (label 1) in every requested compression, for the frames that have a mask. */
async function cropFake(run: JobRun, faces: Faces, f: ProbedFake, annotated: AnnotatedFake): Promise<void> {
  const { job, opts } = run;
  const video = `${f.method}/${f.name}`;
  const t0 = performance.now();
  let cropped = 0;
  for (const comp of opts.compressions) {
    const c = comp === annotated.maskComp ? annotated.crops : await cropFrames(run, faces, video, f.videos[comp], comp);
    for (const [frame, png] of c) {
      if (!annotated.masks.has(frame)) continue; // its skip reason is recorded by annotateFake
      const image = cropPath(comp, f.method, f.name, frame);
      await writeFileAtomic(join(run.outDir, image), png);
      run.entries.push({
        split: job.split,
        method: f.method,
        compression: comp,
        video: f.name,
        frame,
        image,
        mask: maskPath(f.method, f.name, frame),
        label: 1,
        box: boxTuple(faces.boxes.get(frame)!),
      });
      cropped++;
    }
  }
  reportStage(run, 'crop', cropped, t0);
}

/** Writes `jobs/<id>.json`, which marks the job done. */
async function writeRecord(run: JobRun, detectedOn: Compression | null, frameCount: number, indices: number[], boxes: JobRecord['boxes']): Promise<JobRecord> {
  const { job } = run;
  const rec: JobRecord = {
    id: job.id,
    split: job.split,
    optionsKey: run.key,
    inputsKey: run.inputsKey,
    frameCount,
    indices,
    detectedOn,
    boxes,
    entries: run.entries.sort(compareEntries),
    skipped: run.skipped,
  };
  await writeFileAtomic(jobRecordPath(run.outDir, job.id), `${JSON.stringify(rec, null, 1)}\n`);
  run.onProgress?.({ kind: 'job', job: job.id, outcome: 'done', skipped: rec.skipped.length });
  return rec;
}

const boxTuple = (b: CropBox): [number, number, number] => [b.x, b.y, b.size];
