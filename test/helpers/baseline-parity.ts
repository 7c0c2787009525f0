/**
 * Readers and comparisons for the `baseline-parity/<folder>` fixtures (official baselines with
 * detfill-fanin-v1 weights; ../shared/fixtures/baseline-parity/README.md): keys.json, the input
 * formula of `expected.safetensors`'s metadata, the stored tensors (full or summarised) and the
 * tolerances of the folder README's table. Every parity test of a baseline uses these, so shapes,
 * tolerances and file names come from the fixture's own files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { fixtureDir } from './fixtures.js';
import { readSafetensors, tensorOf, type TestSafetensors } from './safetensors.js';
import { faninValues, type FaninEntry, type FaninKind } from '../../src/models/detfill-fanin.js';

/** One entry of keys.json. */
export interface KeyEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int64';
  kind: FaninKind;
  fan_in?: number;
  fnv1a: number | null;
  numel: number;
  sum_f64: number;
  abs_sum_f64: number;
  first: number[];
  last: number;
  official_file?: string;
  official_key?: string;
}

export interface KeysFile {
  scheme: string;
  offset_basis: number;
  official: string;
  num_entries: number;
  entries: KeyEntry[];
}

/** One tensor of `__metadata__.tensors`. */
export interface TensorInfo {
  role: 'final' | 'intermediate' | 'input' | 'constant';
  shape: number[];
  stored: 'full' | 'summary';
  f32_vs_f64?: { max_abs?: number; ref_abs_max?: number; differing?: number };
}

export interface ParityFolder {
  name: string;
  dir: string;
  keys: KeysFile;
  expected: TestSafetensors;
  metadata: Record<string, string>;
  tensors: Record<string, TensorInfo>;
  /** the README's tolerance table: tensor → its "suggested abs tol" cell, as written */
  toleranceCells: Map<string, string>;
  offsetBasis: number;
  /** names of the `keep` entries */
  keep: Set<string>;
}

/** Reads `baseline-parity/<name>`. */
export async function readParityFolder(name: string): Promise<ParityFolder> {
  const dir = fixtureDir(join('baseline-parity', name));
  const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as KeysFile;
  const expected = await readSafetensors(join(dir, 'expected.safetensors'));
  const metadata = expected.metadata;
  assert.equal(metadata.scheme, keys.scheme, 'keys.json and expected.safetensors name the same scheme');
  assert.equal(keys.entries.length, keys.num_entries, 'keys.json entry count');
  return {
    name,
    dir,
    keys,
    expected,
    metadata,
    tensors: JSON.parse(metadata.tensors) as Record<string, TensorInfo>,
    toleranceCells: readToleranceTable(readFileSync(join(dir, 'README.md'), 'utf8')),
    offsetBasis: Number(metadata.offset_basis),
    keep: new Set(keys.entries.filter((e) => e.kind === 'keep').map((e) => e.name)),
  };
}

/** keys.json entries as fill entries (for a checkpoint written under the official names). */
export function faninEntriesOf(keys: KeysFile): FaninEntry[] {
  return keys.entries.map((e) => ({ name: e.name, shape: e.shape, kind: e.kind, ...(e.fan_in !== undefined ? { fanIn: e.fan_in } : {}) }));
}

/**
 * The README's "Tolerances" table: the first column names tensors (\`a\`, \`b\`), the column
 * whose header says "suggested" holds the tolerance. A cell "as \`c2\`, \`c3\`" takes the named
 * rows' cells positionally; \`_3\` after \`run_sobel_2\` continues the first name's stem.
 */
function readToleranceTable(readme: string): Map<string, string> {
  const start = readme.search(/^## \d*\.? ?Tolerances/m);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const cells = new Map<string, string>();
  const deferred: [string[], string[]][] = [];
  let column = -1;
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const row = line
      .trim()
      .split(/(?<!\\)\|/)
      .slice(1, -1); // `\|` is a literal bar inside a cell
    const header = row.findIndex((c) => /suggested/i.test(c));
    if (header >= 0) column = header;
    if (header >= 0 || column < 0 || row.length <= column) continue;
    const names = [...row[0].matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    if (names.length === 0) continue;
    const full = names.map((n) => (n.startsWith('_') ? names[0].replace(/_[^_]+$/, n) : n));
    const tol = row[column].trim().replace(/\\\|/g, '|');
    const refs = /^as /.test(tol) ? [...tol.matchAll(/`([^`]+)`/g)].map((x) => x[1]) : [];
    if (refs.length === full.length) deferred.push([full, refs]);
    else for (const n of full) cells.set(n, tol);
  }
  for (const [names, refs] of deferred) names.forEach((n, i) => cells.set(n, cells.get(refs[i]) ?? ''));
  return cells;
}

/** A numeric absolute tolerance of the README table: `1e-5`, or 0 for "exact". */
export function tolerance(folder: ParityFolder, tensor: string): number {
  const cell = folder.toleranceCells.get(tensor);
  if (cell === undefined) throw new Error(`${folder.name}: no tolerance row for ${tensor} in its README`);
  const num = /^(\d+(?:\.\d+)?(?:e-?\d+)?)$/.exec(cell);
  if (num !== null) return Number(num[1]);
  if (/^exact( 0)?$/.test(cell)) return 0;
  throw new Error(`${folder.name}: tolerance of ${tensor} is not a plain number: '${cell}'`);
}

/**
 * The fixture input, built from the metadata's formula and shape:
 * s = float32(sin(((0.05·(y+1))·(c+1)) + (0.3·n)) · cos(0.07·(x+1))), then
 * x = float32(((s + 1)·0.5 − mean[c]) / std[c]). Returns the affine map's mean/std as well.
 */
export function parityInput(folder: ParityFolder): { data: Float32Array; shape: number[]; mean: number[]; std: number[] } {
  const shape = JSON.parse(folder.metadata.input_shape) as number[];
  const mean = JSON.parse(folder.metadata.input_mean) as number[];
  const std = JSON.parse(folder.metadata.input_std) as number[];
  assert.match(folder.metadata.input, /^s\[n,c,y,x\] = float32\(sin\(\(\(0\.05\*\(y\+1\)\)\*\(c\+1\)\) \+ \(0\.3\*n\)\) \* cos\(0\.07\*\(x\+1\)\)\)/);
  assert.match(folder.metadata.input, /x\[n,c,y,x\] = float32\(\(\(\(double\)s \+ 1\) \* 0\.5 - mean\[c\]\) \/ std\[c\]\)/);
  const [N, C, H, W] = shape;
  const data = new Float32Array(N * C * H * W);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        const a = Math.sin(0.05 * (y + 1) * (c + 1) + 0.3 * n);
        for (let x = 0; x < W; x++) {
          const s = Math.fround(a * Math.cos(0.07 * (x + 1)));
          data[o++] = ((s + 1) * 0.5 - mean[c]) / std[c];
        }
      }
    }
  }
  return { data, shape, mean, std };
}

/** One comparison's result: a row of the parity table. */
export interface Comparison {
  folder: string;
  tensor: string;
  storage: 'full' | 'summary';
  maxAbs: number;
  maxRel: number;
  tolerance: number;
  pass: boolean;
}

/**
 * Compares our values of a stored tensor with the fixture within `tol` (absolute): every element
 * of a full tensor; for a summary, the 1024 samples, mean, population std, min and max within
 * tol and the abs-sum within numel·tol (README "Tolerances"). maxRel is over the compared values.
 */
export function compareTensor(
  folder: ParityFolder,
  tensor: string,
  ours: ArrayLike<number>,
  shape: readonly number[],
  tol = tolerance(folder, tensor),
): Comparison {
  const info = folder.tensors[tensor];
  if (info === undefined) throw new Error(`${folder.name}: ${tensor} is not in expected.safetensors`);
  assert.deepEqual([...shape], info.shape, `${folder.name}/${tensor}: shape`);
  const numel = shape.reduce((a, b) => a * b, 1);
  assert.equal(ours.length, numel, `${folder.name}/${tensor}: element count`);
  let maxAbs = 0;
  let maxRel = 0;
  let pass = true;
  const see = (a: number, b: number, bound: number) => {
    const d = Math.abs(a - b);
    if (!(d <= bound)) pass = false; // NaN fails
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
    if (b !== 0) maxRel = Math.max(maxRel, d / Math.abs(b));
  };
  if (info.stored === 'full') {
    const ref = folder.expected.tensors.get(tensor);
    if (ref === undefined) throw new Error(`${folder.name}: ${tensor} missing`);
    const values = ref.data instanceof BigInt64Array ? Array.from(ref.data, Number) : ref.data;
    for (let i = 0; i < numel; i++) see(ours[i], values[i], tol);
  } else {
    const idx = tensorOf(folder.expected, `${tensor}/idx`, 'I64').data;
    const val = tensorOf(folder.expected, `${tensor}/val`, 'F32').data;
    const stats = tensorOf(folder.expected, `${tensor}/stats`, 'F64').data;
    assert.deepEqual(Array.from(tensorOf(folder.expected, `${tensor}/shape`, 'I64').data, Number), [...shape], `${tensor}/shape`);
    for (let j = 0; j < idx.length; j++) see(ours[Number(idx[j])], val[j], tol);
    const s = summaryStats(ours);
    [s.mean, s.std, s.min, s.max].forEach((v, k) => see(v, stats[k], tol));
    if (!(Math.abs(s.absSum - stats[4]) <= numel * tol)) pass = false;
  }
  return { folder: folder.name, tensor, storage: info.stored, maxAbs, maxRel, tolerance: tol, pass };
}

/** Mean, population std, min, max and abs-sum in double, as the fixtures' `/stats`. */
export function summaryStats(v: ArrayLike<number>): { mean: number; std: number; min: number; max: number; absSum: number } {
  let sum = 0;
  let absSum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    sum += v[i];
    absSum += Math.abs(v[i]);
    if (v[i] < min) min = v[i];
    if (v[i] > max) max = v[i];
  }
  const mean = sum / v.length;
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / v.length), min, max, absSum };
}

/** The parity-table row of a comparison, logged as a TAP comment. */
export function logComparison(c: Comparison): void {
  console.log(
    `parity ${c.folder} ${c.tensor} (${c.storage}) maxAbs ${c.maxAbs.toExponential(2)} maxRel ${c.maxRel.toExponential(2)} tol ${c.tolerance} ${c.pass ? 'pass' : 'FAIL'}`,
  );
}

/**
 * Checks a filled state dict against keys.json: the same names in the same order (after
 * `rename`, and without the `extra` names the port adds), shapes, kinds, fan-ins, and the
 * values: first 3 and last bit-identical, float64 sums to 1e-9 relative (README "Files").
 */
export function checkStateDict(
  folder: ParityFolder,
  state: Map<string, { shape: readonly number[]; toTypedArray(): ArrayLike<number> | BigInt64Array }>,
  kinds: readonly FaninEntry[],
  opts: { extra?: readonly string[] } = {},
): void {
  const extra = new Set(opts.extra ?? []);
  const ours = [...state.keys()].filter((k) => !extra.has(k));
  assert.deepEqual(
    ours,
    folder.keys.entries.map((e) => e.name),
    `${folder.name}: state-dict names and order equal keys.json`,
  );
  const kindOf = new Map(kinds.map((k) => [k.name, k]));
  for (const e of folder.keys.entries) {
    const t = state.get(e.name)!;
    assert.deepEqual([...t.shape], e.shape, `${e.name}: shape`);
    const k = kindOf.get(e.name);
    assert.equal(k?.kind, e.kind, `${e.name}: kind`);
    if (e.fan_in !== undefined) assert.equal(k?.fanIn, e.fan_in, `${e.name}: fan_in`);
    const raw = t.toTypedArray();
    const v = raw instanceof BigInt64Array ? Array.from(raw, Number) : raw;
    assert.deepEqual([v[0], v[1], v[2]].slice(0, Math.min(3, e.numel)), e.first, `${e.name}: first values`);
    assert.equal(v[e.numel - 1], e.last, `${e.name}: last value`);
    let sum = 0;
    let absSum = 0;
    for (let i = 0; i < v.length; i++) {
      sum += v[i];
      absSum += Math.abs(v[i]);
    }
    assert.ok(Math.abs(absSum - e.abs_sum_f64) <= 1e-9 * Math.max(1, e.abs_sum_f64), `${e.name}: abs sum ${absSum} vs ${e.abs_sum_f64}`);
    assert.ok(Math.abs(sum - e.sum_f64) <= 1e-9 * Math.max(1, e.abs_sum_f64), `${e.name}: sum ${sum} vs ${e.sum_f64}`);
  }
}

/** Values seen through a forward's `tap`, copied out at once (a block's tidy frees its tensors). */
export function tapCollector(): {
  tap: (name: string, t: { shape: readonly number[]; toTypedArray(): ArrayLike<number> | BigInt64Array }) => void;
  values: Map<string, TapValue>;
} {
  const values = new Map<string, TapValue>();
  return {
    values,
    tap: (name, t) => {
      const raw = t.toTypedArray();
      values.set(name, { shape: [...t.shape], data: raw instanceof BigInt64Array ? Float64Array.from(raw, Number) : raw });
    },
  };
}
export interface TapValue {
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * Compares every final and intermediate tensor of the fixture that `ours` holds (by the
 * fixture's name) and asserts each within its README tolerance; returns the rows. Tensors the
 * fixture stores that `ours` lacks fail, except those listed in `elsewhere` (checked by the caller).
 */
export function compareAll(folder: ParityFolder, ours: ReadonlyMap<string, TapValue>, elsewhere: readonly string[] = []): Comparison[] {
  const rows: Comparison[] = [];
  for (const [name, info] of Object.entries(folder.tensors)) {
    if (info.role !== 'final' && info.role !== 'intermediate') continue;
    if (elsewhere.includes(name)) continue;
    const v = ours.get(name);
    assert.ok(v !== undefined, `${folder.name}: the port produced no ${name}`);
    rows.push(compareTensor(folder, name, v.data, v.shape));
  }
  rows.forEach(logComparison);
  const failed = rows.filter((r) => !r.pass);
  assert.deepEqual(
    failed.map((r) => `${r.tensor}: max abs ${r.maxAbs} > ${r.tolerance}`),
    [],
    `${folder.name}: tensors off the official values`,
  );
  return rows;
}

/** The formula input equals the fixture's 1024 stored samples bit for bit; returns it as stored. */
export function checkedInput(folder: ParityFolder): { data: Float32Array; shape: number[] } {
  const input = parityInput(folder);
  const idx = tensorOf(folder.expected, 'input/idx', 'I64').data;
  const val = tensorOf(folder.expected, 'input/val', 'F32').data;
  assert.deepEqual(Array.from(tensorOf(folder.expected, 'input/shape', 'I64').data, Number), input.shape, 'input shape');
  for (let j = 0; j < idx.length; j++) assert.equal(input.data[Number(idx[j])], val[j], `input sample ${j}`);
  return input;
}

/**
 * A checkpoint of keys.json's entries under their official names with detfill-fanin-v1 values
 * (as `torch.save(state_dict)` would hold them): int64 `keep` entries are the constructor's 0;
 * float `keep` entries need the constructor's values and are refused.
 */
export function faninCheckpoint(folder: ParityFolder): Map<string, { shape: number[]; data: Float32Array | BigInt64Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
  for (const e of faninEntriesOf(folder.keys)) {
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (e.kind !== 'keep') out.set(e.name, { shape: [...e.shape], data: faninValues(e, folder.offsetBasis) });
    else if (folder.keys.entries.find((k) => k.name === e.name)?.dtype === 'int64') out.set(e.name, { shape: [...e.shape], data: new BigInt64Array(numel) });
    else throw new Error(`${folder.name}: ${e.name} keeps the official constructor's float values, which keys.json does not hold`);
  }
  return out;
}
