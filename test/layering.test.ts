/**
 * The layering of src/: the README's map declares the floors from the ground up, and every import
 * (`import … from`, `export … from`, `import type`, dynamic `import('literal')` of a relative path)
 * goes to its own folder or to a folder on a lower floor. Folders that share a floor do not import
 * each other. Inside a folder the file graph has no cycle. A violation fails naming the files, so it
 * is fixed by moving the shared piece down, not whitelisted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SRC = resolve('src');
const README = resolve('README.md');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx)$/.test(d.name) && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative specifier names (`./x.js` is written for `./x.ts`). */
function target(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  const found = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, join(base, 'index.ts')].find(
    (f) => /\.tsx?$/.test(f) && existsSync(f),
  );
  assert.ok(found, `${relative(process.cwd(), from)} imports ${spec}, which is no source file`);
  return found;
}

function importGraph(files: readonly string[]): Map<string, string[]> {
  return new Map(
    files.map((f) => [
      f,
      ts
        .preProcessFile(readFileSync(f, 'utf8'), true, true)
        .importedFiles.map((i) => i.fileName)
        .filter((s) => s.startsWith('.'))
        .map((s) => target(f, s)),
    ]),
  );
}

/** Every cycle's files (one per strongly connected component of more than one file, or a self-import), in import order. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(cyclePath(graph, new Set(component), v));
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

/** One concrete cycle through `start` inside its component (a shortest one, by breadth-first search). */
function cyclePath(graph: ReadonlyMap<string, readonly string[]>, component: ReadonlySet<string>, start: string): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0]!)!);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

test('the cycle finder names a cycle in import order and passes a tree', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
  ]);
  assert.deepEqual(cycles(g), [
    ['a', 'b', 'c', 'a'],
    ['e', 'e'],
  ]);
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('src/ has no import cycle (type imports and literal dynamic imports included)', () => {
  const graph = importGraph(sourceFiles(SRC));
  assert.ok(graph.size > 100, `${graph.size} source files`);
  const named = cycles(graph).map((c) => c.map((f) => relative(process.cwd(), f)).join(' → '));
  assert.deepEqual(named, [], `import cycles:\n${named.join('\n')}`);
});

/** The README's map of src/: rows `| floor | \`folder/\` or \`file.ts\` | … |`, folder → floor. */
function declaredFloors(readme: string): Map<string, number> {
  const floors = new Map<string, number>();
  for (const m of readme.matchAll(/^\| (\d+) \| `([\w.-]+?)\/?` \|/gm)) floors.set(m[2]!, Number(m[1]));
  return floors;
}

/** The top-level unit of a source file: its first folder under src/, or the file itself at the root. */
function unitOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0]!;
}

/** Every import that runs up or sideways between units, as `from → to (floor a → floor b)`. */
function violations(graph: ReadonlyMap<string, readonly string[]>, floors: ReadonlyMap<string, number>, name = (f: string) => f): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = unitOf(from);
    for (const to of targets) {
      const b = unitOf(to);
      if (a === b) continue;
      const fa = floors.get(a);
      const fb = floors.get(b);
      if (fa === undefined || fb === undefined || fb >= fa) out.push(`${name(from)} → ${name(to)} (floor ${fa ?? '?'} → ${fb ?? '?'})`);
    }
  }
  return out;
}

test('the floor check flags an upward, a sideways and an undeclared import, and passes a downward one', () => {
  const f = (p: string) => join(SRC, p);
  const floors = new Map([
    ['errors.ts', 0],
    ['torch', 1],
    ['image', 1],
    ['nn', 2],
  ]);
  const graph = new Map([
    [f('nn/module.ts'), [f('torch/tensor.ts'), f('errors.ts'), f('nn/layers.ts')]],
    [f('torch/tensor.ts'), [f('nn/module.ts'), f('image/codec.ts')]],
    [f('image/codec.ts'), [f('web/server.ts')]],
  ]);
  assert.deepEqual(
    violations(graph, floors, (p) => relative(SRC, p)),
    ['torch/tensor.ts → nn/module.ts (floor 1 → 2)', 'torch/tensor.ts → image/codec.ts (floor 1 → 1)', 'image/codec.ts → web/server.ts (floor 1 → ?)'],
  );
});

test("every import in src/ runs down the README's floors", () => {
  const floors = declaredFloors(readFileSync(README, 'utf8'));
  const units = new Set(sourceFiles(SRC).map(unitOf));
  const undeclared = [...units].filter((u) => !floors.has(u));
  assert.deepEqual(undeclared, [], `src/ entries missing from the README's map: ${undeclared.join(', ')}`);
  const found = violations(importGraph(sourceFiles(SRC)), floors, (p) => relative(process.cwd(), p));
  assert.deepEqual(found, [], `imports against the floors:\n${found.join('\n')}`);
});

test('models/backbones/ imports no method folder (a backbone serves every method)', () => {
  const backbones = join(SRC, 'models', 'backbones');
  const graph = importGraph(sourceFiles(backbones));
  const methods = readdirSync(join(SRC, 'models'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'backbones')
    .map((d) => join(SRC, 'models', d.name));
  const bad = [...graph].flatMap(([from, tos]) =>
    tos.filter((t) => methods.some((m) => t.startsWith(m + '/'))).map((t) => `${relative(SRC, from)} → ${relative(SRC, t)}`),
  );
  assert.deepEqual(bad, []);
});
