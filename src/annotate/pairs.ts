import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { InputFileError } from '../errors.js';

/** One real/fake pair and where its mask goes (`output`: a relative path ending in .png, under the output folder). */
export interface Pair {
  readonly real: string;
  readonly fake: string;
  readonly output: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * Reads a pair list: one pair per line, `<real> <fake> <output name>` separated by whitespace, paths
 * relative to the list file's folder (absolute paths are kept). Blank lines and lines starting with `#` are ignored.
 */
export async function readPairList(file: string): Promise<Pair[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputFileError(file, 'cannot read the pair list', 'pass an existing text file with `<real> <fake> <output name>` lines', { cause: err });
  }
  const base = dirname(resolve(file));
  const pairs: Pair[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 3) {
      throw new InputFileError(
        `${file}:${i + 1}`,
        `expected 3 whitespace-separated fields, got ${fields.length}`,
        'write each pair as `<real> <fake> <output name>` (paths without spaces)',
      );
    }
    const [real, fake, output] = fields;
    pairs.push({ real: resolve(base, real), fake: resolve(base, fake), output: checkOutputName(output, `${file}:${i + 1}`) });
  }
  return pairs;
}

/** An output name must stay inside the output folder and name a PNG. */
function checkOutputName(name: string, where: string): string {
  const normal = normalize(name);
  if (isAbsolute(name) || normal.split(sep).includes('..')) {
    throw new InputFileError(where, `output name '${name}' leaves the output folder`, 'use a relative path such as Deepfakes/000_003/000.png');
  }
  if (extname(normal).toLowerCase() !== '.png') {
    throw new InputFileError(where, `output name '${name}' does not end in .png`, 'masks are written as PNG: name them <frame>.png');
  }
  return normal;
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * The pairs of an FaceForensics++-style tree, as the official `get_mask` pairs them: every image
 * `<fake>/<method>/<tgt>_<src>/<frame>.png` is matched with `<real>/youtube/<tgt>/<frame>.png` (the target id
 * is the part before the first `_`). The mask goes to `<method>/<tgt>_<src>/<frame>.png`. `real` may also be
 * the `youtube` folder itself. Method folders are every subfolder of `fake` except `youtube`; order is sorted.
 * A fake whose real partner is missing is still listed (the batch reports it as `missing-real`).
 */
export async function listFaceForensicsPairs(realDir: string, fakeDir: string): Promise<Pair[]> {
  const reals = basename(resolve(realDir)) === 'youtube' ? resolve(realDir) : join(resolve(realDir), 'youtube');
  let methods: string[];
  try {
    methods = (await subfolders(fakeDir)).filter((m) => m !== 'youtube');
  } catch (err) {
    throw new InputFileError(fakeDir, 'cannot list the fake folder', 'pass the folder holding <method>/<tgt>_<src>/<frame>.png', { cause: err });
  }
  const pairs: Pair[] = [];
  for (const method of methods) {
    for (const video of await subfolders(join(fakeDir, method))) {
      const target = video.split('_')[0];
      const frames = (await readdir(join(fakeDir, method, video), { withFileTypes: true }))
        .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .map((e) => e.name)
        .sort();
      for (const frame of frames) {
        const stem = frame.slice(0, -extname(frame).length);
        pairs.push({
          real: join(reals, target, frame),
          fake: resolve(fakeDir, method, video, frame),
          output: join(method, video, `${stem}.png`),
        });
      }
    }
  }
  return pairs;
}
