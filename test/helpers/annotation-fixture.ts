import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixtureDir } from './fixtures.js';

/** One pair of the `annotation-pairs` fixture, with the official outcome from its own metadata. */
export interface FixturePair {
  readonly name: string;
  readonly real: string;
  readonly fake: string;
  /** The output name in pairs.txt / expected.json. */
  readonly output: string;
  /** The official mask file, or null where the official code raised. */
  readonly mask: string | null;
  readonly diff: string | null;
  readonly official: 'mask' | 'raised';
  readonly stages: string | null;
  readonly width: number;
  readonly height: number;
  /** From the official trace: min and max of 1 − SSIM, and the point count of every contour. */
  readonly trace: { readonly diff_min: number; readonly diff_max: number; readonly contour_num_points: readonly number[] };
}

/** Reads pairs.txt, expected.json and results.json of the fixture (never constants in the tests). */
export async function annotationFixture(): Promise<{ dir: string; pairs: FixturePair[] }> {
  const dir = fixtureDir('annotation-pairs');
  const expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Record<string, string | null>;
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as {
    pairs: { name: string; official: 'mask' | 'raised'; stages_file?: string; width: number; height: number; trace: FixturePair['trace'] }[];
  };
  const lines = (await readFile(join(dir, 'pairs.txt'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const pairs = lines.map((line) => {
    const [real, fake, output] = line.trim().split(/\s+/);
    const result = results.pairs.find((p) => fake.startsWith(`${p.name}_`));
    if (result === undefined) throw new Error(`results.json has no record for ${fake}`);
    if (!(output in expected)) throw new Error(`expected.json has no entry for ${output}`);
    const mask = expected[output];
    return {
      name: result.name,
      real: join(dir, real),
      fake: join(dir, fake),
      output,
      official: result.official,
      mask: mask === null ? null : join(dir, mask),
      diff: mask === null ? null : join(dir, `${result.name}_diff.png`),
      stages: result.stages_file === undefined ? null : join(dir, result.stages_file),
      width: result.width,
      height: result.height,
      trace: result.trace,
    };
  });
  return { dir, pairs };
}
