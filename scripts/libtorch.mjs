#!/usr/bin/env node
// Which libtorch the addon is built against, and the compiler/linker flags for it (used by
// native/binding.gyp, `npm run build:native`, scripts/setup's rebuild stamp and scripts/gpu-check).
//
//   LIBTORCH unset      Debian's libtorch-dev (/usr/include, /usr/lib): the default, and CI's.
//   LIBTORCH=python     the libtorch inside the PyTorch that `$PYTHON` (default python3) imports.
//   LIBTORCH=/path      a libtorch folder with include/ and lib/ (a PyTorch package folder
//                       site-packages/torch, or an unpacked libtorch zip from pytorch.org).
//
//   node scripts/libtorch.mjs summary        one line: libtorch version, CUDA or CPU, C++ ABI
//   node scripts/libtorch.mjs json           everything below as JSON
//   node scripts/libtorch.mjs include_dirs|defines|libraries   one gyp list item per line
//   node scripts/libtorch.mjs build [node-gyp args…]   node-gyp rebuild, quiet unless it fails, then the summary
//
// Only Node built-ins: it runs before `npm ci` on a bare GPU machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export class LibtorchError extends Error {
  constructor(problem, hint) {
    super(`${problem} (${hint})`);
    this.name = 'LibtorchError';
  }
}

const SYSTEM_INCLUDE = '/usr/include';

/** TORCH_VERSION_MAJOR/MINOR/PATCH from torch/version.h, as "1.13.0". */
function headerVersion(includeDir) {
  const file = join(includeDir, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const part = (name) => text.match(new RegExp(`#define\\s+TORCH_VERSION_${name}\\s+(\\d+)`))?.[1] ?? '?';
  return ['MAJOR', 'MINOR', 'PATCH'].map(part).join('.');
}

/** What the Python interpreter's torch says about itself (one import of torch). */
function askPython(python) {
  const code =
    'import json, os, torch; print(json.dumps({"root": os.path.dirname(torch.__file__), "version": torch.__version__, ' +
    '"cxx11Abi": int(torch._C._GLIBCXX_USE_CXX11_ABI), "cuda": torch.version.cuda}))';
  try {
    return JSON.parse(
      execFileSync(python, ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')
        .pop(),
    );
  } catch (err) {
    throw new LibtorchError(
      `LIBTORCH=python: \`${python} -c "import torch"\` failed: ${String(err.stderr ?? err.message)
        .trim()
        .split('\n')
        .pop()}`,
      "install PyTorch for that interpreter, set PYTHON=/path/to/python3 (e.g. a venv's), or set LIBTORCH=/path/to/site-packages/torch",
    );
  }
}

/** The C++ ABI of a libtorch without Python: libc10's std::string symbols are __cxx11:: ones under the new ABI. */
function abiFromLibrary(lib) {
  const file = join(lib, 'libc10.so');
  if (!existsSync(file))
    throw new LibtorchError(`${file} does not exist`, 'LIBTORCH must be a folder with include/ and lib/ (site-packages/torch or an unpacked libtorch)');
  return readFileSync(file).includes('St7__cxx11') ? 1 : 0;
}

/** The first folder of `dirs` that holds `file`. */
const firstWith = (dirs, file) => dirs.find((d) => d && existsSync(join(d, file))) ?? null;

/**
 * Resolves LIBTORCH (and PYTHON) to the folders, ABI and flags of one libtorch.
 * @param {NodeJS.ProcessEnv} env
 */
export function resolveLibtorch(env = process.env) {
  const spec = env.LIBTORCH ?? '';
  if (spec === '') {
    const version = headerVersion(SYSTEM_INCLUDE);
    if (version === null)
      throw new LibtorchError('no libtorch headers in /usr/include', "install Debian's libtorch-dev (scripts/setup does), or set LIBTORCH=python");
    return finish(env, { source: 'system', root: null, include: SYSTEM_INCLUDE, lib: null, version, cxx11Abi: 1, cudaVersion: null });
  }
  let root;
  let version = null;
  let cxx11Abi;
  let cudaVersion = null;
  if (spec === 'python') {
    const py = askPython(env.PYTHON || 'python3');
    root = py.root;
    version = py.version;
    cxx11Abi = py.cxx11Abi;
    cudaVersion = py.cuda;
  } else {
    root = resolve(spec);
    cxx11Abi = abiFromLibrary(join(root, 'lib'));
  }
  const include = join(root, 'include');
  // Debian's python3-torch links include/ to /usr/include (libtorch-dev): a missing target shows here
  const headers = headerVersion(include);
  if (headers === null) {
    throw new LibtorchError(
      `${include} has no torch/csrc/api/include/torch/version.h`,
      spec === 'python'
        ? 'this PyTorch ships no C++ headers; on Debian install libtorch-dev, else point LIBTORCH at a libtorch folder'
        : 'LIBTORCH must hold include/ and lib/',
    );
  }
  return finish(env, {
    source: spec === 'python' ? 'python' : 'path',
    root,
    include,
    lib: join(root, 'lib'),
    version: version ?? headers,
    headerVersion: headers,
    cxx11Abi,
    cudaVersion,
  });
}

function finish(env, t) {
  const lib = t.lib;
  const cuda = lib !== null && existsSync(join(lib, 'libtorch_cuda.so')) && existsSync(join(lib, 'libc10_cuda.so'));
  // CUDA runtime and NCCL headers: the CUDA toolkit, or PyTorch's pip dependencies beside it (site-packages/nvidia/…)
  const sitePackages = t.root === null ? null : dirname(t.root);
  const cudaHome = env.CUDA_HOME || env.CUDA_PATH || '/usr/local/cuda';
  const cudaInclude = cuda
    ? firstWith([join(cudaHome, 'include'), sitePackages && join(sitePackages, 'nvidia', 'cuda_runtime', 'include'), SYSTEM_INCLUDE], 'cuda_runtime_api.h')
    : null;
  const ncclInclude = cudaInclude
    ? firstWith([sitePackages && join(sitePackages, 'nvidia', 'nccl', 'include'), join(cudaHome, 'include'), SYSTEM_INCLUDE], 'nccl.h')
    : null;
  // Gloo's headers: shipped in the libtorch's include/, or Debian's libgloo-dev when the torch headers are Debian's too
  const debianHeaders = realpathSync(join(t.include, 'torch')).startsWith(`${SYSTEM_INCLUDE}/`);
  const gloo = existsSync(join(t.include, 'gloo', 'algorithm.h')) || (debianHeaders && existsSync(join(SYSTEM_INCLUDE, 'gloo', 'algorithm.h')));
  const includeDirs = [t.include, join(t.include, 'torch', 'csrc', 'api', 'include')];
  for (const d of [cudaInclude, ncclInclude]) if (d !== null && !includeDirs.includes(d)) includeDirs.push(d);
  const defines = [`_GLIBCXX_USE_CXX11_ABI=${t.cxx11Abi}`];
  if (gloo) defines.push('USE_C10D_GLOO');
  if (cudaInclude !== null) defines.push('MSCCNET_CUDA', 'USE_CUDA');
  if (ncclInclude !== null) defines.push('USE_C10D_NCCL');
  // --no-as-needed: libtorch_cuda registers the CUDA kernels when loaded; nothing references it by symbol
  const libraries =
    lib === null
      ? ['-ltorch', '-ltorch_cpu', '-lc10']
      : [
          `-L${lib}`,
          `-Wl,-rpath,${lib}`,
          '-Wl,--no-as-needed',
          '-ltorch',
          '-ltorch_cpu',
          '-lc10',
          ...(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []),
          '-Wl,--as-needed',
        ];
  return { ...t, cuda, cudaInclude, ncclInclude, gloo, includeDirs, defines, libraries };
}

/** The one line `npm run build:native` prints. */
export function summary(t) {
  const where = t.source === 'system' ? 'Debian libtorch-dev' : t.root;
  const device = t.cuda
    ? `CUDA${t.cudaVersion ? ` ${t.cudaVersion}` : ''}${t.cudaInclude === null ? ' (no CUDA headers: no NCCL, no memory stats)' : t.ncclInclude === null ? ' (no nccl.h: Gloo only)' : ' + NCCL'}`
    : 'CPU';
  return `libtorch ${t.version} (${where}), ${device}${t.gloo ? '' : ' (no Gloo headers: no CPU process groups)'}, C++11 ABI ${t.cxx11Abi}`;
}

function main(argv) {
  const [command = 'summary', ...rest] = argv;
  const t = resolveLibtorch();
  switch (command) {
    case 'summary':
      console.log(summary(t));
      return 0;
    case 'json':
      console.log(JSON.stringify(t, null, 2));
      return 0;
    case 'include_dirs':
      console.log(t.includeDirs.join('\n'));
      return 0;
    case 'defines':
      console.log(t.defines.join('\n'));
      return 0;
    case 'libraries':
      console.log(t.libraries.join('\n'));
      return 0;
    case 'build': {
      const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
      const r = spawnSync('node-gyp', ['rebuild', '--jobs=max', '--directory', nativeDir, ...rest], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) {
        process.stderr.write(r.stdout ?? '');
        process.stderr.write(r.stderr ?? String(r.error ?? ''));
        console.error(`build:native failed against ${summary(t)}`);
        return r.status ?? 1;
      }
      console.log(summary(t));
      return 0;
    }
    default:
      console.error(`unknown command ${command}: summary | json | include_dirs | defines | libraries | build`);
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof LibtorchError)) throw err;
    console.error(`libtorch: ${err.message}`);
    process.exitCode = 1;
  }
}
