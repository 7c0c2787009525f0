import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, InputFileError } from '../errors.js';

/** The five FF++ manipulation methods, in the reference config's order. */
export const METHODS = ['NeuralTextures', 'Deepfakes', 'Face2Face', 'FaceShifter', 'FaceSwap'] as const;
export type Method = (typeof METHODS)[number];
export const COMPRESSIONS = ['raw', 'c23', 'c40'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number] | 'unsplit';

/**
 * Pairs absent from the reference's split lists (one direction of one pair per split,
 * official-spec §8.2); `dropReferenceMissing` drops them too, to reproduce its counts.
 */
export const REFERENCE_DROPPED: Readonly<Record<(typeof SPLITS)[number], string>> = { train: '604_703', val: '115_939', test: '227_169' };

/** Paths of one video at each compression present on disk. */
export type Renditions = Partial<Record<Compression, string>>;

/** What an FF++ download folder holds. */
export interface FfppTree {
  root: string;
  /** original id → its renditions. */
  originals: Map<string, Renditions>;
  /** method → fake name (`<target>_<source>`) → its renditions. */
  fakes: Map<Method, Map<string, Renditions>>;
}

export const originalPath = (root: string, comp: Compression, id: string): string => join(root, 'original_sequences', 'youtube', comp, 'videos', `${id}.mp4`);
export const fakePath = (root: string, method: Method, comp: Compression, name: string): string =>
  join(root, 'manipulated_sequences', method, comp, 'videos', `${name}.mp4`);

/** Reads the FF++ layout: `original_sequences/youtube/<comp>/videos/<id>.mp4`, `manipulated_sequences/<Method>/<comp>/videos/<t>_<s>.mp4`. */
export async function scanFfpp(root: string): Promise<FfppTree> {
  if (!existsSync(join(root, 'original_sequences'))) {
    throw new InputFileError(
      root,
      'has no original_sequences folder',
      'pass the folder the FF++ download script wrote (it holds original_sequences/ and manipulated_sequences/)',
    );
  }
  const originals = new Map<string, Renditions>();
  const fakes = new Map<Method, Map<string, Renditions>>();
  for (const comp of COMPRESSIONS) {
    for (const id of await videoNames(join(root, 'original_sequences', 'youtube', comp, 'videos'))) {
      const r = originals.get(id) ?? {};
      r[comp] = originalPath(root, comp, id);
      originals.set(id, r);
    }
    for (const method of METHODS) {
      for (const name of await videoNames(join(root, 'manipulated_sequences', method, comp, 'videos'))) {
        const byName = fakes.get(method) ?? new Map<string, Renditions>();
        const r = byName.get(name) ?? {};
        r[comp] = fakePath(root, method, comp, name);
        byName.set(name, r);
        fakes.set(method, byName);
      }
    }
  }
  return { root, originals, fakes };
}

async function videoNames(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((f) => f.endsWith('.mp4'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Fake names per split, as the reference's train/valid/test.txt: both directions of each official pair. */
export interface SplitLists {
  names: Record<(typeof SPLITS)[number], string[]>;
  /** Names removed by `dropReferenceMissing`. */
  dropped: string[];
}

/**
 * Reads the official split JSONs (`train.json`, `val.json`, `test.json` from FaceForensics'
 * dataset/splits: arrays of [id, id] pairs) and lists `a_b` and `b_a` for every pair.
 */
export async function readSplits(dir: string, opts: { dropReferenceMissing?: boolean } = {}): Promise<SplitLists> {
  const names = { train: [] as string[], val: [] as string[], test: [] as string[] };
  const dropped: string[] = [];
  for (const split of SPLITS) {
    const file = join(dir, `${split}.json`);
    let pairs: unknown;
    try {
      pairs = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new InputFileError(
        file,
        'missing or not JSON',
        'pass --splits with the folder holding train.json, val.json and test.json from FaceForensics dataset/splits',
        { cause: err },
      );
    }
    if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string' && /^\d+$/.test(x)))) {
      throw new InputFileError(file, 'is not a list of [id, id] pairs of digit strings', 'use the official split files, e.g. [["953", "974"], …]');
    }
    for (const [a, b] of pairs as Array<[string, string]>) {
      for (const name of [`${a}_${b}`, `${b}_${a}`]) {
        if (opts.dropReferenceMissing && REFERENCE_DROPPED[split] === name) dropped.push(name);
        else names[split].push(name);
      }
    }
  }
  return { names, dropped };
}

/** The target (background, real) id of a fake: the first number, as the reference loader takes it. */
export function targetOf(fakeName: string): string {
  const t = fakeName.split('_')[0];
  if (!t || !/^\d+_\d+$/.test(fakeName)) throw new ArgumentError('fake name', '<target>_<source> digit ids', fakeName);
  return t;
}
