/**
 * Sample lists for training and evaluation: from the data pipeline's manifest (JSONL) or from
 * the reference's folder layout (official-spec §8.1), and decoding of one sample. Lists are
 * plain data (they cross into worker threads); decoding reports unreadable files as skippable
 * and size mismatches as errors.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import sharp from 'sharp';
import { InputFileError } from '../errors.js';
import { sniffImage } from '../image/sniff.js';
import type { Decoded } from './augment.js';
import { DatasetError } from './errors.js';

/** One face crop. Paths are absolute; `mask` null means a real frame with an all-zero mask. */
export interface Sample {
  /** the reference's id: the image path's last three parts joined by `_` (evaluation de-duplicates by it) */
  readonly id: string;
  readonly image: string;
  readonly mask: string | null;
  readonly label: 0 | 1;
  readonly method: string;
  readonly compression: string;
  readonly split: string;
  readonly video: string;
  readonly frame: number;
}

/** A list plus what was left out of it while reading (line or file, and why). */
export interface SampleList {
  readonly samples: Sample[];
  readonly skipped: { readonly where: string; readonly reason: string }[];
}

export interface ListOptions {
  readonly split: string;
  /** null keeps every compression (a manifest of another dataset, e.g. DEFACTO's `none`) */
  readonly compression: string | null;
  /** fake methods to keep, null for every method; reals (label 0) are always kept */
  readonly methods: readonly string[] | null;
}

export function sampleId(imagePath: string): string {
  return imagePath.split(/[\\/]/).slice(-3).join('_');
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * Reads a manifest: one JSON object per line with image, mask, label, method, compression,
 * split, video, frame (the data pipeline's fields; relative paths are relative to the manifest).
 * A line that does not parse or lacks a field is reported in `skipped`, not fatal.
 */
export async function readManifestSamples(path: string, o: ListOptions): Promise<SampleList> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputFileError(path, 'cannot be read', 'pass the manifest.jsonl written by `msccnet prepare`', { cause: err });
  }
  const base = dirname(resolve(path));
  const abs = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const samples: Sample[] = [];
  const skipped: SampleList['skipped'] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${path}:${i + 1}`;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      skipped.push({ where, reason: 'not JSON' });
      return;
    }
    const str = (k: string): string | undefined => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
    const image = str('image');
    const label = e.label;
    if (image === undefined || (label !== 0 && label !== 1)) {
      skipped.push({ where, reason: 'needs a string `image` and `label` 0 or 1' });
      return;
    }
    const split = str('split') ?? '';
    const compression = str('compression') ?? '';
    const method = str('method') ?? (label === 0 ? 'youtube' : 'unknown');
    if (!same(split, o.split) || (o.compression !== null && !same(compression, o.compression))) return;
    if (label === 1 && o.methods !== null && !o.methods.some((m) => same(m, method))) return;
    const mask = str('mask');
    samples.push({
      id: sampleId(image),
      image: abs(image),
      mask: mask === undefined ? null : abs(mask),
      label,
      method,
      compression,
      split,
      video: str('video') ?? sampleId(image),
      frame: typeof e.frame === 'number' ? e.frame : -1,
    });
  });
  return { samples, skipped };
}

/**
 * The reference's layout, D = root: `D/<split>.txt` lines `<tgt>_<src>`; fakes under
 * `D/<comp>/<method>/<tgt>_<src>/*.png`, reals under `D/<comp>/youtube/<tgt>/`, masks at the
 * image path with the compression folder replaced by `Mask`. Files are taken in sorted order
 * (the reference's glob order is the file system's). Missing real crops or masks are kept in
 * the list: decoding reports them (reals get all-zero masks when the mask file is absent).
 */
export async function readReferenceLayout(
  root: string,
  o: ListOptions & { readonly compression: string; readonly methods: readonly string[] },
): Promise<SampleList> {
  const listFile = join(root, `${o.split}.txt`);
  let text: string;
  try {
    text = await readFile(listFile, 'utf8');
  } catch (err) {
    throw new InputFileError(listFile, 'cannot be read', `point data.root at the folder holding ${o.split}.txt and ${o.compression}/`, { cause: err });
  }
  const samples: Sample[] = [];
  const skipped: SampleList['skipped'] = [];
  const compDir = await matchDir(root, o.compression);
  for (const name of text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')) {
    for (const method of o.methods) {
      const dir = join(root, compDir, method, name);
      let files: string[];
      try {
        files = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
      } catch {
        skipped.push({ where: dir, reason: 'folder missing' });
        continue;
      }
      const frameOf = (f: string): number => Number.parseInt(f, 10);
      for (const f of files) {
        const fake = join(dir, f);
        const real = join(root, compDir, 'youtube', name.split('_')[0], f);
        samples.push({
          id: sampleId(fake),
          image: fake,
          mask: maskPath(fake, compDir),
          label: 1,
          method,
          compression: o.compression,
          split: o.split,
          video: name,
          frame: frameOf(f),
        });
        samples.push({
          id: sampleId(real),
          image: real,
          mask: maskPath(real, compDir),
          label: 0,
          method: 'youtube',
          compression: o.compression,
          split: o.split,
          video: name.split('_')[0],
          frame: frameOf(f),
        });
      }
    }
  }
  return { samples, skipped };
}

/** The folder of the compression under root, matched case-insensitively (C40 or c40). */
async function matchDir(root: string, compression: string): Promise<string> {
  try {
    return (await readdir(root)).find((d) => same(d, compression)) ?? compression;
  } catch {
    return compression;
  }
}

/** The reference's mask path: every occurrence of the compression folder name replaced by `Mask`. */
function maskPath(image: string, compDir: string): string {
  return image
    .split(sep)
    .map((p) => (p === compDir ? 'Mask' : p))
    .join(sep);
}

/**
 * The reference's training order source: every fake followed by the real crop of the same
 * frame (reals repeat once per method). Reals without a fake partner in the list keep their
 * place once; a list already paired (the folder layout) is returned as is.
 */
export function pairedTrainList(samples: readonly Sample[]): Sample[] {
  if (samples.length >= 2 && samples.every((s, i) => (i % 2 === 0 ? s.label === 1 : s.label === 0))) return [...samples];
  const reals = new Map<string, Sample>();
  for (const s of samples) if (s.label === 0) reals.set(`${s.video}/${s.frame}`, s);
  const used = new Set<Sample>();
  const out: Sample[] = [];
  for (const s of samples) {
    if (s.label !== 1) continue;
    out.push(s);
    const real = reals.get(`${s.video.split('_')[0]}/${s.frame}`);
    if (real) {
      out.push(real);
      used.add(real);
    }
  }
  for (const s of samples) if (s.label === 0 && !used.has(s)) out.push(s);
  return out;
}

/** A file that could not be read or decoded: the sample is skipped and counted. */
export class UnreadableSampleError extends InputFileError {
  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(path, problem, 'the sample is skipped; regenerate or remove it from the manifest', options);
  }
}

async function decode(path: string, grey: boolean): Promise<{ data: Uint8Array; width: number; height: number }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UnreadableSampleError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read', { cause: err });
  }
  try {
    let img = sharp(bytes).removeAlpha();
    img = grey ? img.greyscale() : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== (grey ? 1 : 3)) throw new Error(`${info.channels} channels after conversion`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    // worded from the file alone: libvips' own message is a process-wide buffer that concurrent
    // decodes append to, so it differs from run to run (issue 31, item 17); the cause keeps it
    throw new UnreadableSampleError(path, undecodable(bytes), { cause: err });
  }
}

/** Why a file that sharp refused is no image, from its bytes: the same words every run. */
function undecodable(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'cannot be decoded: the file is empty';
  const mime = sniffImage(bytes);
  return mime === null
    ? 'cannot be decoded: not a PNG, JPEG or WebP image (unrecognised first bytes)'
    : `cannot be decoded: the ${mime.slice(6).toUpperCase()} data is truncated or corrupt`;
}

/**
 * Decodes a sample to BGR (as cv2.imread) and its grayscale mask. A real sample without a
 * mask file (or whose mask file is absent) gets an all-zero mask; a mask whose size differs
 * from its image is a DatasetError naming both files.
 */
export async function decodeSample(s: Sample): Promise<Decoded> {
  const img = await decode(s.image, false);
  const bgr = img.data;
  for (let i = 0; i < bgr.length; i += 3) {
    const r = bgr[i];
    bgr[i] = bgr[i + 2];
    bgr[i + 2] = r;
  }
  let mask: Uint8Array;
  if (s.mask === null) {
    mask = new Uint8Array(img.width * img.height);
  } else {
    let m: Awaited<ReturnType<typeof decode>> | null;
    try {
      m = await decode(s.mask, true);
    } catch (err) {
      if (s.label === 0 && err instanceof UnreadableSampleError && err.message.includes('file not found')) m = null;
      else throw err;
    }
    if (m !== null && (m.width !== img.width || m.height !== img.height)) {
      throw new DatasetError(
        `mask ${s.mask} is ${m.width}×${m.height} but its image ${s.image} is ${img.width}×${img.height}`,
        'regenerate the mask from this crop, or fix the manifest entry that pairs them',
      );
    }
    mask = m?.data ?? new Uint8Array(img.width * img.height);
  }
  return { bgr, mask, width: img.width, height: img.height };
}
