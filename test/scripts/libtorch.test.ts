import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// scripts/libtorch.mjs resolves LIBTORCH to the flags binding.gyp and gpu-check build with. A
// PyTorch package folder is laid out here (as a CUDA wheel: torch/include, torch/lib with the CUDA
// libraries, the CUDA runtime and NCCL headers of its nvidia/* dependencies beside it).
const script = 'scripts/libtorch.mjs';

interface Resolved {
  version: string;
  cuda: boolean;
  cxx11Abi: number;
  gloo: boolean;
  includeDirs: string[];
  defines: string[];
  libraries: string[];
}

function fakeTorch(o: { major: number; minor: number; abi: boolean; cuda: boolean; nccl: boolean }): string {
  const site = join(mkdtempSync(join(tmpdir(), 'msccnet-libtorch-')), 'site-packages');
  const file = (path: string, text: string | Buffer = ''): void => {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), text);
  };
  file(
    'torch/include/torch/csrc/api/include/torch/version.h',
    `#define TORCH_VERSION_MAJOR ${o.major}\n#define TORCH_VERSION_MINOR ${o.minor}\n#define TORCH_VERSION_PATCH 1\n`,
  );
  file('torch/include/gloo/algorithm.h');
  // libc10's std::string symbols name the ABI: std::__cxx11::basic_string under the new one
  file('torch/lib/libc10.so', Buffer.from(o.abi ? '\x7fELF _ZNKSt7__cxx1112basic_string' : '\x7fELF _ZNKSs4sizeEv'));
  file('torch/lib/libtorch.so');
  if (o.cuda) {
    file('torch/lib/libtorch_cuda.so');
    file('torch/lib/libc10_cuda.so');
    file('nvidia/cuda_runtime/include/cuda_runtime_api.h');
    if (o.nccl) file('nvidia/nccl/include/nccl.h');
  }
  return join(site, 'torch');
}

function resolveFor(libtorch: string): Resolved {
  return JSON.parse(
    execFileSync(process.execPath, [script, 'json'], { env: { ...process.env, LIBTORCH: libtorch, CUDA_HOME: '/nonexistent' }, encoding: 'utf8' }),
  ) as Resolved;
}

test('a CUDA PyTorch 2.x folder: its headers, CUDA and NCCL defines, the CUDA libraries linked and lib/ on the rpath', () => {
  const torch = fakeTorch({ major: 2, minor: 5, abi: false, cuda: true, nccl: true });
  try {
    const r = resolveFor(torch);
    assert.equal(r.version, '2.5.1');
    assert.equal(r.cuda, true);
    assert.equal(r.cxx11Abi, 0);
    assert.deepEqual(r.includeDirs.slice(0, 2), [join(torch, 'include'), join(torch, 'include', 'torch', 'csrc', 'api', 'include')]);
    assert.ok(r.includeDirs.includes(join(dirname(torch), 'nvidia', 'cuda_runtime', 'include')));
    assert.ok(r.includeDirs.includes(join(dirname(torch), 'nvidia', 'nccl', 'include')));
    assert.deepEqual(r.defines, ['_GLIBCXX_USE_CXX11_ABI=0', 'USE_C10D_GLOO', 'MSCCNET_CUDA', 'USE_CUDA', 'USE_C10D_NCCL']);
    assert.ok(r.libraries.includes(`-Wl,-rpath,${join(torch, 'lib')}`));
    for (const lib of ['-ltorch', '-ltorch_cpu', '-lc10', '-ltorch_cuda', '-lc10_cuda']) assert.ok(r.libraries.includes(lib), lib);
    const line = execFileSync(process.execPath, [script, 'summary'], { env: { ...process.env, LIBTORCH: torch, CUDA_HOME: '/nonexistent' }, encoding: 'utf8' });
    assert.equal(line, `libtorch 2.5.1 (${torch}), CUDA + NCCL, C++11 ABI 0\n`);
  } finally {
    rmSync(dirname(dirname(torch)), { recursive: true, force: true });
  }
});

test('a CPU libtorch folder with the new ABI: no CUDA libraries, no NCCL; without nccl.h a CUDA build keeps Gloo only', () => {
  const cpu = fakeTorch({ major: 1, minor: 13, abi: true, cuda: false, nccl: false });
  const noNccl = fakeTorch({ major: 2, minor: 1, abi: true, cuda: true, nccl: false });
  try {
    const r = resolveFor(cpu);
    assert.equal(r.cuda, false);
    assert.deepEqual(r.defines, ['_GLIBCXX_USE_CXX11_ABI=1', 'USE_C10D_GLOO']);
    assert.ok(!r.libraries.some((l) => /cuda/.test(l)));
    const n = resolveFor(noNccl);
    assert.ok(n.defines.includes('MSCCNET_CUDA') && !n.defines.includes('USE_C10D_NCCL'));
  } finally {
    for (const t of [cpu, noNccl]) rmSync(dirname(dirname(t)), { recursive: true, force: true });
  }
});

test("LIBTORCH unset is Debian's libtorch-dev with the flags CI always built with", () => {
  const env = { ...process.env };
  delete env.LIBTORCH;
  const r = JSON.parse(execFileSync(process.execPath, [script, 'json'], { env, encoding: 'utf8' })) as Resolved;
  assert.deepEqual(r.includeDirs, ['/usr/include', '/usr/include/torch/csrc/api/include']);
  assert.deepEqual(r.defines, ['_GLIBCXX_USE_CXX11_ABI=1', 'USE_C10D_GLOO']);
  assert.deepEqual(r.libraries, ['-ltorch', '-ltorch_cpu', '-lc10']);
});

test('a folder that is no libtorch, and a Python without torch, fail with one line saying what to do', () => {
  const empty = mkdtempSync(join(tmpdir(), 'msccnet-libtorch-'));
  try {
    const a = spawnSync(process.execPath, [script, 'summary'], { env: { ...process.env, LIBTORCH: empty }, encoding: 'utf8' });
    assert.equal(a.status, 1);
    assert.match(a.stderr, /^libtorch: .*libc10\.so does not exist \(LIBTORCH must be a folder with include\/ and lib\//);
    writeFileSync(join(empty, 'python3'), '#!/bin/sh\necho "ModuleNotFoundError: No module named \'torch\'" >&2\nexit 1\n', { mode: 0o755 });
    const b = spawnSync(process.execPath, [script, 'summary'], {
      env: { ...process.env, LIBTORCH: 'python', PYTHON: join(empty, 'python3') },
      encoding: 'utf8',
    });
    assert.equal(b.status, 1);
    assert.match(b.stderr, /No module named 'torch'.*set PYTHON=/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
