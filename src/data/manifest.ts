import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputFileError, zodProblems } from '../errors.js';

/** One face crop: a line of `manifest.jsonl`. Paths are relative to the manifest's folder. */
export const ManifestEntry = z.strictObject({
  split: z.string().describe('train, val, test (FF++), unsplit, or a dataset name'),
  method: z.string().describe('youtube for reals, else the manipulation method'),
  compression: z.string().describe('raw, c23, c40 (FF++), or none'),
  video: z.string().describe('video id: <id> for reals, <target>_<source> for fakes'),
  frame: z.number().int().nonnegative().describe('0-based frame index in the video'),
  image: z.string(),
  mask: z.string().nullable().describe('0/255 mask; null for reals (all zero)'),
  label: z.union([z.literal(0), z.literal(1)]).describe('0 real, 1 fake'),
  box: z.tuple([z.number(), z.number(), z.number()]).optional().describe('crop square [x, y, side] in the frame'),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

/** Stable order of a manifest: split, compression, method, video, frame. */
export function compareEntries(a: ManifestEntry, b: ManifestEntry): number {
  return cmp(a.split, b.split) || cmp(a.compression, b.compression) || cmp(a.method, b.method) || cmp(a.video, b.video) || a.frame - b.frame;
}
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function formatManifest(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}

export async function readManifest(path: string): Promise<ManifestEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputFileError(path, 'cannot be read', 'pass the manifest.jsonl written by `msccnet prepare` or `msccnet dataset defacto`', { cause: err });
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const r = ManifestEntry.safeParse(parsed);
      if (!r.success) throw new InputFileError(path, `line ${i + 1} is not a manifest entry: ${zodProblems(r.error).join('; ')}`, 'regenerate the manifest');
      return r.data;
    });
}

/** Counts like the paper's Table 1, per compression. */
export interface SplitStats {
  compression: string;
  splits: string[];
  /** method → split → fake crops. */
  fakes: Record<string, Record<string, number>>;
  /** split → real crop lines as the reference lists them: one per fake (train counts these). */
  pairedReals: Record<string, number>;
  /** split → distinct real crops (val/test de-duplicate by image id). */
  distinctReals: Record<string, number>;
  /** split → samples: train fakes + paired reals; other splits fakes + distinct reals (Table 1). */
  total: Record<string, number>;
}

/**
 * Table-1 statistics. The reference pairs every fake crop with its real crop of the same frame,
 * so training lists each real once per method; evaluation de-duplicates reals by image id.
 */
export function manifestStats(entries: readonly ManifestEntry[]): SplitStats[] {
  const comps = [...new Set(entries.map((e) => e.compression))].sort();
  return comps.map((compression) => {
    const rows = entries.filter((e) => e.compression === compression);
    const splits = [...new Set(rows.map((e) => e.split))].sort((a, b) => splitRank(a) - splitRank(b) || cmp(a, b));
    const realIds = new Set(rows.filter((e) => e.label === 0).map((e) => `${e.split}/${e.video}/${e.frame}`));
    const fakes: Record<string, Record<string, number>> = {};
    const pairedReals: Record<string, number> = {};
    const distinct: Record<string, Set<string>> = {};
    for (const e of rows) {
      if (e.label === 0) continue;
      (fakes[e.method] ??= {})[e.split] = (fakes[e.method]?.[e.split] ?? 0) + 1;
      const realId = `${e.split}/${e.video.split('_')[0]}/${e.frame}`;
      if (!realIds.has(realId)) continue; // DEFACTO-style lists have no paired real
      pairedReals[e.split] = (pairedReals[e.split] ?? 0) + 1;
    }
    for (const e of rows) if (e.label === 0) (distinct[e.split] ??= new Set()).add(`${e.video}/${e.frame}`);
    const distinctReals = Object.fromEntries(splits.map((s) => [s, distinct[s]?.size ?? 0]));
    const total = Object.fromEntries(
      splits.map((s) => {
        const nFake = Object.values(fakes).reduce((n, m) => n + (m[s] ?? 0), 0);
        return [s, nFake + (s === 'train' ? (pairedReals[s] ?? 0) : (distinctReals[s] ?? 0))];
      }),
    );
    for (const s of splits) pairedReals[s] ??= 0;
    return { compression, splits, fakes, pairedReals, distinctReals, total };
  });
}

const splitRank = (s: string): number => (({ train: 0, val: 1, test: 2 }) as Record<string, number>)[s] ?? 3;

/** Plain-text table of {@link manifestStats}, one block per compression. */
export function formatStats(stats: readonly SplitStats[]): string {
  const out: string[] = [];
  for (const s of stats) {
    const head = ['', ...s.splits];
    const rows: string[][] = [
      ...Object.keys(s.fakes)
        .sort()
        .map((m) => [`fake ${m}`, ...s.splits.map((sp) => String(s.fakes[m]?.[sp] ?? 0))]),
      ['real (paired, per fake)', ...s.splits.map((sp) => String(s.pairedReals[sp] ?? 0))],
      ['real (distinct)', ...s.splits.map((sp) => String(s.distinctReals[sp] ?? 0))],
      ['total (Table 1)', ...s.splits.map((sp) => String(s.total[sp] ?? 0))],
    ];
    const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] ?? '').length)));
    const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
    out.push(`compression ${s.compression}`, line(head), ...rows.map(line), '');
  }
  out.push('total: train counts each real once per fake (as the reference trains); val/test count distinct reals.');
  return out.join('\n');
}
