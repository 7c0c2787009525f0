/**
 * The package as a user gets it: `npm pack` (its prepack builds dist/ and web-dist/) → the tarball
 * installed into a scratch project → `import('msccnet')` in Node loads the library API, and the
 * browser condition resolves to an entry whose import graph bundles for a browser (esbuild with
 * platform=browser fails on any node:* import).
 * Offline and fast: the pack runs in a copy of the sources (the checkout's dist/ and web-dist/ are
 * left alone), and the scratch project starts from a hard-linked copy of node_modules, so npm only
 * unpacks the tarball and prunes what msccnet does not need.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
/** What prepack needs from the checkout (package.json `files` plus the build's inputs). */
const SOURCES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'bin',
  'src',
  'native/binding.gyp',
  'native/src',
  'scripts',
];

let dir: string;
let project: string;
let tarball: { path: string; size: number; files: string[] };

before(async () => {
  // Under the checkout (.tmp/ is ignored): hard links need node_modules' file system.
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  dir = await mkdtemp(join(ROOT, '.tmp', 'pack-'));
  const copy = join(dir, 'src-copy');
  for (const p of SOURCES) await cp(join(ROOT, p), join(copy, p), { recursive: true });
  const modules = await realpath(join(ROOT, 'node_modules'));
  await symlink(modules, join(copy, 'node_modules'), 'dir');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: copy, maxBuffer: 64 * 2 ** 20 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; size: number; files: { path: string }[] }[];
  tarball = { path: join(dir, packed.filename), size: packed.size, files: packed.files.map((f) => f.path) };

  project = join(dir, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
  await run('cp', ['-al', modules, join(project, 'node_modules')]);
  // npm rewrites its hidden lockfile in place, which would write through the hard link into the checkout's.
  await rm(join(project, 'node_modules', '.package-lock.json'), { force: true });
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save', tarball.path], { cwd: project });
});

after(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

test('the tarball holds what an installed package needs, and no sources or maps', (t) => {
  const has = (p: string) => tarball.files.includes(p);
  for (const p of [
    'package.json',
    'README.md',
    'bin/msccnet.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/browser.js',
    'dist/browser.d.ts',
    'dist/cli/index.js',
    'native/binding.gyp',
    'native/src/addon.cc',
    'scripts/libtorch.mjs',
    'web-dist/index.html',
    'web-dist/main.js',
  ]) {
    assert.ok(has(p), `${p} is missing from the tarball`);
  }
  assert.ok(
    tarball.files.some((f) => f.startsWith('web-dist/vendor/ort/') && f.endsWith('.wasm')),
    "the page's onnxruntime wasm is missing",
  );
  const stray = tarball.files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('native/build/'));
  assert.deepEqual(stray, []);
  t.diagnostic(`tarball ${(tarball.size / 2 ** 20).toFixed(1)} MiB, ${tarball.files.length} files`);
});

test("import('msccnet') in Node loads the library API", async () => {
  const script = `const m = await import('msccnet');
    console.log(JSON.stringify({ url: import.meta.resolve('msccnet'), names: Object.keys(m), errorIsError: m.MsccnetError.prototype instanceof Error }));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
  const got = JSON.parse(stdout) as { url: string; names: string[]; errorIsError: boolean };
  assert.match(got.url, /node_modules\/msccnet\/dist\/index\.js$/);
  for (const name of [
    'annotatePairs',
    'planPrepare',
    'buildMsccnet',
    'buildMethod',
    'train',
    'evaluate',
    'runProtocol',
    'exportMsccnet',
    'exportMethod',
    'openEngine',
    'detectFiles',
    'analyze',
    'buildServer',
    'MsccnetError',
    'parseWith',
  ]) {
    assert.ok(got.names.includes(name), `${name} is not exported`);
  }
  assert.ok(got.errorIsError);
});

test('the installed bin runs the compiled CLI', async () => {
  const { stdout } = await run(join(project, 'node_modules', '.bin', 'msccnet'), ['--help'], { cwd: project });
  for (const command of ['annotate', 'prepare', 'train', 'evaluate', 'export', 'detect', 'serve']) assert.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
});

test('the browser condition resolves to the browser entry, whose import graph bundles for a browser', async () => {
  const { stdout } = await run(process.execPath, ['--conditions=browser', '--input-type=module', '-e', "console.log(import.meta.resolve('msccnet'))"], {
    cwd: project,
  });
  assert.match(stdout.trim(), /node_modules\/msccnet\/dist\/browser\.js$/);
  const result = await build({
    stdin: { contents: "export * from 'msccnet';", resolveDir: project, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(
    inputs.some((p) => p.includes('node_modules/msccnet/dist/browser.js')),
    'esbuild did not take the browser entry',
  );
  const nodeOnly = inputs.filter((p) => /node_modules\/(sharp|fastify|onnxruntime-node|bullmq|ioredis)\/|msccnet\/dist\/(torch|nn|train|web\/server)/.test(p));
  assert.deepEqual(nodeOnly, []);
});
