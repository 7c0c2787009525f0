/**
 * General image forgery sets of the paper's Table 5 (train CASIA v2.0, test CASIA v1.0 and
 * COVERAGE) in the folder layouts and mask names of MVSS-Net's data lists (dong03/MVSS-Net,
 * `data/*.txt`, lines `<image> <mask|None> <label>`):
 *
 *   CASIA v1.0   Au/<name>.jpg (authentic); TP/{Sp,CM}/<stem>.jpg with mask/{Sp,CM}/<stem>_gt.png
 *   CASIA v2.0   Au/<name> (authentic); tampered/<stem>.{jpg,tif} (or Tp/) with mask/<stem>_gt.png
 *   COVERAGE     Au/<n>.tif (authentic); tampered/<n>t.tif with mask/<n>forged.tif
 *
 * A list file in MVSS-Net's format, when given, decides instead of the folder scan (its paths
 * are relative to the list's folder, as `./CASIAv1/…` under the data root). Image paths in
 * the entries are relative to `manifestDir`.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { InputFileError } from '../errors.js';
import type { ManifestEntry } from './manifest.js';
import { imageFileProblem } from './image-files.js';

export const FORGERY_SETS = ['casia1', 'casia2', 'coverage'] as const;
export type ForgerySet = (typeof FORGERY_SETS)[number];

/** The split each set plays in Table 5: CASIA v2.0 trains, CASIA v1.0 and COVERAGE test. */
export const FORGERY_SPLIT: Readonly<Record<ForgerySet, string>> = { casia1: 'test', casia2: 'train', coverage: 'test' };
const NAMES: Readonly<Record<ForgerySet, string>> = { casia1: 'CASIAv1', casia2: 'CASIAv2', coverage: 'COVERAGE' };

export interface ForgeryManifest {
  readonly entries: ManifestEntry[];
  /** listed or found images left out, with why */
  readonly skipped: Array<{ image: string; reason: string }>;
}

const IMAGE = /\.(jpe?g|tiff?|png|bmp)$/i;

async function files(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((f) => IMAGE.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** The first of `names` that exists under root (public copies differ in case: Tp/TP, Au/au). */
function folder(root: string, names: readonly string[]): string {
  return names.map((n) => join(root, n)).find((p) => existsSync(p)) ?? join(root, names[0]!);
}

/** The mask of a tampered image in MVSS-Net's naming. */
export function forgeryMaskPath(set: ForgerySet, root: string, image: string): string {
  const stem = basename(image, extname(image));
  switch (set) {
    case 'casia1':
      return join(folder(root, ['mask', 'Mask']), basename(dirname(image)), `${stem}_gt.png`); // mask/Sp/x_gt.png
    case 'casia2':
      return join(folder(root, ['mask', 'Mask', 'CASIA 2 Groundtruth', 'Groundtruth']), `${stem}_gt.png`);
    case 'coverage':
      return join(folder(root, ['mask', 'Mask']), `${stem.replace(/t$/, '')}forged.tif`);
  }
}

/** (image, label) pairs of a folder in the set's layout. */
async function scan(set: ForgerySet, root: string): Promise<Array<{ image: string; mask: string | null; label: 0 | 1; kind: string }>> {
  const authentic = (await files(folder(root, ['Au', 'au', 'authentic']))).map((image) => ({ image, mask: null, label: 0 as const, kind: 'authentic' }));
  let tampered: string[][];
  if (set === 'casia1') {
    const tp = folder(root, ['TP', 'Tp', 'tampered']);
    tampered = await Promise.all(['Sp', 'CM'].map((k) => files(join(tp, k))));
  } else {
    tampered = [await files(folder(root, ['tampered', 'Tp', 'TP']))];
  }
  const fakes = tampered.flat().map((image) => ({
    image,
    mask: forgeryMaskPath(set, root, image),
    label: 1 as const,
    kind: set === 'casia1' ? basename(dirname(image)) : 'tampered',
  }));
  if (fakes.length === 0 && authentic.length === 0) {
    throw new InputFileError(
      root,
      `holds none of the ${NAMES[set]} folders (Au/ and ${set === 'casia1' ? 'TP/Sp, TP/CM' : 'tampered/'})`,
      'pass the dataset folder laid out as MVSS-Net lists it, or --list with its data list',
    );
  }
  return [...fakes, ...authentic];
}

/** (image, mask, label) of an MVSS-Net data list: `<image> <mask|None> <label>`, paths relative to the list's folder. */
async function readList(list: string): Promise<Array<{ image: string; mask: string | null; label: 0 | 1; kind: string }>> {
  const base = dirname(list);
  const lines = (await readFile(list, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.map((line, i) => {
    const parts = line.split(/\s+/);
    if (parts.length !== 3 || !/^\d+$/.test(parts[2]!)) {
      throw new InputFileError(list, `line ${i + 1} is not "<image> <mask|None> <label>": '${line}'`, 'fix the line or remove it');
    }
    const label = Number(parts[2]) > 0 ? 1 : 0; // MVSS-Net: label = int(label > 0)
    return { image: join(base, parts[0]!), mask: parts[1] === 'None' ? null : join(base, parts[1]!), label, kind: basename(dirname(parts[0]!)) };
  });
}

/**
 * A manifest of CASIA v1.0, CASIA v2.0 or COVERAGE (split `train` for v2.0, `test` otherwise;
 * method `<set>/<kind>` for tampered images, `real` for authentic ones).
 */
export async function forgeryManifest(set: ForgerySet, root: string, manifestDir: string, list?: string): Promise<ForgeryManifest> {
  const items = list === undefined ? await scan(set, root) : await readList(list);
  const entries: ManifestEntry[] = [];
  const skipped: ForgeryManifest['skipped'] = [];
  for (const { image, mask, label, kind } of items) {
    const rel = relative(manifestDir, image);
    const problem = await imageFileProblem(image);
    if (problem !== null) {
      skipped.push({ image: rel, reason: `image file ${problem}` });
      continue;
    }
    const maskProblem = label === 1 && mask !== null ? await imageFileProblem(mask) : null;
    if (label === 1 && (mask === null || maskProblem !== null)) {
      skipped.push({ image: rel, reason: mask === null ? 'tampered image without a mask' : `mask ${relative(manifestDir, mask)} ${maskProblem}` });
      continue;
    }
    entries.push({
      split: FORGERY_SPLIT[set],
      method: label === 1 ? `${NAMES[set]}/${kind}` : 'real',
      compression: 'none',
      video: basename(image),
      frame: 0,
      image: rel,
      mask: label === 1 ? relative(manifestDir, mask!) : null,
      label,
    });
  }
  return { entries, skipped };
}
