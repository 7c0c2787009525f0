import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { InputFileError } from '../errors.js';
import type { ManifestEntry } from './manifest.js';
import { imageFileProblem } from './image-files.js';

export interface DefactoResult {
  entries: ManifestEntry[];
  /** Listed images left out, with why (missing image or mask). */
  skipped: Array<{ image: string; reason: string }>;
}

/**
 * A test manifest for a DEFACTO face-swap folder (official-spec §8.3). With `test_vis.txt`
 * (lines `<image path> <label>`, paths relative to its folder) the list decides; otherwise every
 * file of `Image/fake` and `Image/real`. A fake's mask is its path with `Image` → `Mask` and the
 * last 4 characters (`.tif`) dropped, as the reference loader does; reals have none.
 * Image paths in the entries are relative to `manifestDir`.
 */
export async function defactoManifest(root: string, manifestDir: string, method = 'DEFACTO'): Promise<DefactoResult> {
  const list = join(root, 'test_vis.txt');
  let items: Array<{ image: string; label: 0 | 1 }>;
  if (existsSync(list)) {
    const lines = (await readFile(list, 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    items = lines.map((line, i) => {
      const m = /^(.*\S)\s+([01])$/.exec(line);
      if (!m) throw new InputFileError(list, `line ${i + 1} is not "<image path> <0|1>": '${line}'`, 'fix the line or remove it');
      return { image: join(root, m[1]!), label: Number(m[2]) as 0 | 1 };
    });
  } else if (existsSync(join(root, 'Image'))) {
    items = [];
    for (const [sub, label] of [
      ['fake', 1],
      ['real', 0],
    ] as const) {
      const dir = join(root, 'Image', sub);
      if (!existsSync(dir)) continue;
      for (const f of (await readdir(dir)).sort()) items.push({ image: join(dir, f), label });
    }
  } else {
    throw new InputFileError(
      root,
      'holds neither test_vis.txt nor an Image/ folder',
      'pass the DEFACTO face-swap folder (with Image/fake, Image/real and Mask/fake)',
    );
  }
  const entries: ManifestEntry[] = [];
  const skipped: DefactoResult['skipped'] = [];
  for (const { image, label } of items) {
    const rel = relative(manifestDir, image);
    const problem = await imageFileProblem(image);
    if (problem !== null) {
      skipped.push({ image: rel, reason: `image file ${problem}` });
      continue;
    }
    let mask: string | null = null;
    if (label === 1) {
      const m = defactoMaskPath(image);
      const maskProblem = await imageFileProblem(m);
      if (maskProblem !== null) {
        skipped.push({ image: rel, reason: `mask ${relative(manifestDir, m)} ${maskProblem}` });
        continue;
      }
      mask = relative(manifestDir, m);
    }
    entries.push({ split: 'test', method: label === 1 ? method : 'real', compression: 'none', video: basename(image), frame: 0, image: rel, mask, label });
  }
  return { entries, skipped };
}

/** `…/Image/fake/0.jpg_IN_1.jpg.tif` → `…/Mask/fake/0.jpg_IN_1.jpg` (the reference's rule). */
export function defactoMaskPath(image: string): string {
  const dir = dirname(image)
    .split('/')
    .map((p) => (p === 'Image' ? 'Mask' : p))
    .join('/');
  return join(dir, basename(image).slice(0, -4));
}
