/**
 * The data loader: LoadTasks run on worker threads (or inline with 0 workers), batches are
 * assembled in order while the next `prefetch` batches decode, so the trainer waits on I/O
 * only when decoding is slower than a training step.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../jobs/threads.js';
import { DatasetError } from './errors.js';
import { runTask, type DctInputOptions, type LoadResult, type LoadTask, type SampleAux } from './load.js';
import { loadImageOps, type ImageOps } from '../image/index.js';
import type { TrainTransformOptions } from './augment.js';
import type { PreprocessSpec } from '../image/preprocess.js';
import type { Perturbation } from './perturb.js';
import type { Sample } from './dataset.js';
import type { JpegSource } from '../image/jpeg/index.js';

interface Pending {
  resolve: (r: LoadResult) => void;
  reject: (e: Error) => void;
}

/** Worker threads that run LoadTasks; `size` 0 runs them on the calling thread. */
export class SamplePool {
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  private nextId = 0;
  /** why a worker died: a pool lent to many runs refuses their tasks at once instead of waiting on it forever */
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    private readonly workers: Worker[],
    private readonly inline: ImageOps | null,
  ) {
    this.load = workers.map(() => 0);
  }

  static async create(size: number): Promise<SamplePool> {
    if (size === 0) return new SamplePool([], await loadImageOps());
    const workers = await Promise.all(
      Array.from(
        { length: size },
        () =>
          new Promise<Worker>((resolve, reject) => {
            const w = spawnModuleWorker(import.meta.url, 'worker');
            w.once('error', reject);
            w.once('message', () => resolve(w));
          }),
      ),
    );
    const pool = new SamplePool(workers, null);
    workers.forEach((w, i) => {
      w.on('message', (m: { id: number; result: LoadResult }) => {
        pool.load[i]--;
        const p = pool.pending.get(m.id);
        pool.pending.delete(m.id);
        p?.resolve(m.result);
      });
      w.on('error', (err) => pool.fail(err));
      w.on('exit', (code) => {
        if (!pool.closing) pool.fail(new DatasetError(`a sample decoding thread stopped (exit code ${code})`, 'run it again; report it if it persists'));
      });
    });
    return pool;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  run(task: LoadTask): Promise<LoadResult> {
    if (this.inline !== null) return runTask(this.inline, task);
    if (this.failure !== null) return Promise.reject(this.failure);
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i] < this.load[best]) best = i;
    const id = this.nextId++;
    this.load[best]++;
    return new Promise<LoadResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[best].postMessage({ id, task });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A skipped sample: its file and why. */
export interface SkippedSample {
  readonly path: string;
  readonly reason: string;
}

export interface TrainBatch {
  /** normalised images [n, 3, S, S] */
  readonly images: Float32Array;
  /** targets [n, S, S]: 0, 1, 255 ignored */
  readonly targets: Uint8Array;
  /** image labels [n] */
  readonly labels: Float32Array;
  readonly ids: string[];
  /** n, fewer than asked when samples were skipped */
  readonly count: number;
  readonly size: number;
  readonly skipped: SkippedSample[];
  /** with the `dct` option: dctVolume [n, 21, S, S] and qtable [n, 1, 8, 8] */
  readonly aux?: SampleAux;
}

export interface EvalItem {
  readonly sample: Sample;
  readonly image: Float32Array;
  /** the original grayscale mask (0 real, 255 fake) at the crop's size */
  readonly gt: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** with the `dct` option: dctVolume [21, S, S] and qtable [1, 8, 8] */
  readonly aux?: SampleAux;
  /** with the `jpeg` option: the sample's JPEG source at its own size (`image` is empty) */
  readonly source?: JpegSource;
}

/** The samples' auxiliary inputs one after another (each of equal size), or none. */
function stackAux(parts: readonly (SampleAux | undefined)[]): SampleAux | undefined {
  if (parts.length === 0 || parts.some((p) => p === undefined)) return undefined;
  const stack = (key: keyof SampleAux): Float32Array => {
    const n = parts[0]![key].length;
    const out = new Float32Array(parts.length * n);
    parts.forEach((p, k) => out.set(p![key], k * n));
    return out;
  };
  return { dctVolume: stack('dctVolume'), qtable: stack('qtable') };
}

function fatal(r: Extract<LoadResult, { ok: false; skip: false }>): never {
  throw new DatasetError(r.problem, r.hint);
}

/**
 * Training batches of one epoch in `order` (indices into list), from batch `start` on, each
 * sample's augmentation keyed by (seed, epoch, its position in the epoch). With several ranks
 * (order = epochOrder's shard) the position is the one in the whole epoch's permutation, so a
 * sample is augmented alike whatever the process count.
 */
export async function* trainBatches(
  pool: SamplePool,
  list: readonly Sample[],
  o: {
    readonly order: ArrayLike<number>;
    readonly batchSize: number;
    readonly batches: number;
    readonly start: number;
    readonly seed: number;
    readonly epoch: number;
    readonly transform: TrainTransformOptions;
    readonly prefetch: number;
    readonly rank?: number;
    readonly worldSize?: number;
    /** build each sample's DCT inputs (a method with auxiliary inputs: CAT-Net) */
    readonly dct?: DctInputOptions;
  },
): AsyncGenerator<TrainBatch> {
  const S = o.transform.cropSize;
  const [rank, world] = [o.rank ?? 0, o.worldSize ?? 1];
  const make = (b: number): Promise<LoadResult[]> =>
    Promise.all(
      Array.from({ length: o.batchSize }, (_, j) => {
        const pos = b * o.batchSize + j;
        const key = [o.seed, o.epoch, rank + pos * world];
        return pool.run({ kind: 'train', sample: list[o.order[pos]], key, transform: o.transform, ...(o.dct && { dct: o.dct }) });
      }),
    );
  const window: Promise<LoadResult[]>[] = [];
  let next = o.start;
  const fill = (): void => {
    while (window.length < o.prefetch && next < o.batches) window.push(make(next++));
  };
  for (let b = o.start; b < o.batches; b++) {
    fill();
    const results = await window.shift()!;
    fill();
    const skipped: SkippedSample[] = [];
    const okIdx: number[] = [];
    results.forEach((r, j) => {
      if (r.ok) okIdx.push(j);
      else if (r.skip) skipped.push({ path: r.path, reason: r.reason });
      else fatal(r);
    });
    const n = okIdx.length;
    const images = new Float32Array(n * 3 * S * S);
    const targets = new Uint8Array(n * S * S);
    const labels = new Float32Array(n);
    const ids: string[] = [];
    okIdx.forEach((j, k) => {
      const r = results[j] as Extract<LoadResult, { kind: 'train' }>;
      images.set(r.image, k * 3 * S * S);
      targets.set(r.target, k * S * S);
      const s = list[o.order[b * o.batchSize + j]];
      labels[k] = s.label;
      ids.push(s.id);
    });
    const aux = o.dct && stackAux(okIdx.map((j) => (results[j] as Extract<LoadResult, { kind: 'train' }>).aux));
    yield { images, targets, labels, ids, count: n, size: S, skipped, ...(aux && { aux }) };
  }
}

/** Evaluation items in list order, `prefetch` ahead; skipped samples are reported through onSkip. */
export async function* evalItems(
  pool: SamplePool,
  list: readonly Sample[],
  o: {
    readonly spec: PreprocessSpec;
    readonly prefetch: number;
    /** the skipped file and why, and the list's sample */
    readonly onSkip?: (s: SkippedSample, sample: Sample) => void;
    readonly perturb?: { readonly perturbation: Perturbation; readonly seed: number };
    /** build each sample's DCT inputs (a method with auxiliary inputs: CAT-Net) */
    readonly dct?: DctInputOptions;
    /** give each sample's JPEG source (a model that reads the file, engine `jpegInput`) */
    readonly jpeg?: DctInputOptions;
  },
): AsyncGenerator<EvalItem> {
  const window: Promise<LoadResult>[] = [];
  let next = 0;
  for (let i = 0; i < list.length; i++) {
    while (window.length < o.prefetch && next < list.length)
      window.push(
        pool.run({
          kind: 'eval',
          sample: list[next++],
          spec: o.spec,
          ...(o.perturb && { perturb: o.perturb }),
          ...(o.dct && { dct: o.dct }),
          ...(o.jpeg && { jpeg: o.jpeg }),
        }),
      );
    const r = await window.shift()!;
    if (!r.ok) {
      if (r.skip) {
        o.onSkip?.({ path: r.path, reason: r.reason }, list[i]);
        continue;
      }
      fatal(r);
    }
    if (r.kind !== 'eval') continue;
    yield { sample: list[i], image: r.image, gt: r.gt, width: r.width, height: r.height, ...(r.aux && { aux: r.aux }), ...(r.source && { source: r.source }) };
  }
}
