/**
 * Reading a large PyTorch checkpoint: time and peak memory of `readPth` on a ~100 MB zip-format
 * .pth (target: under 1 s and under 2× the file size of extra memory), then the same file
 * turned into libtorch tensors (views into the file buffer, no copy).
 *
 * The file is built here independently of our reader: a protocol-2 pickle written byte by byte
 * (OrderedDict of `torch._utils._rebuild_tensor_v2` calls with `('storage', torch.FloatStorage,
 * key, 'cpu', numel)` persistent ids) in a stored zip with torch.save's 64-byte data alignment
 * (test/helpers/zip.ts).
 * The read runs in a fresh process so its peak RSS is its own.
 *   npm run bench:pth [-- --mb 100]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeZip } from '../test/helpers/zip.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

/** A protocol-2 pickle of OrderedDict{name: tensor} for float32 tensors of the given shapes. */
function statePickle(shapes: [string, number[]][]): Buffer {
  const parts: Buffer[] = [];
  const op = (...bytes: number[]) => parts.push(Buffer.from(bytes));
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const text = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    op(0x58);
    u32(b.length);
    parts.push(b);
  }; // BINUNICODE
  const int = (v: number) => {
    op(0x4a);
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    parts.push(b);
  }; // BININT
  const global = (module: string, name: string) => parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1')); // GLOBAL
  const tuple = (items: (() => void)[]) => {
    op(0x28);
    items.forEach((f) => f());
    op(0x74);
  }; // MARK … TUPLE
  op(0x80, 2); // PROTO 2
  global('collections', 'OrderedDict');
  op(0x29, 0x52); // OrderedDict()
  shapes.forEach(([name, shape], key) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    text(name);
    global('torch._utils', '_rebuild_tensor_v2');
    tuple([
      () => {
        tuple([() => text('storage'), () => global('torch', 'FloatStorage'), () => text(String(key)), () => text('cpu'), () => int(numel)]);
        op(0x51);
      }, // BINPERSID
      () => int(0),
      () => tuple(shape.map((d) => () => int(d))),
      () => tuple(strides.map((d) => () => int(d))),
      () => op(0x89), // NEWFALSE
      () => {
        global('collections', 'OrderedDict');
        op(0x29, 0x52);
      },
    ]);
    op(0x52, 0x73); // REDUCE, SETITEM
  });
  op(0x2e); // STOP
  return Buffer.concat(parts);
}

async function generate(file: string, megabytes: number): Promise<number> {
  // ResNet-50-like mix: many small tensors and a few large ones, float32
  const shapes: [string, number[]][] = [];
  let bytes = 0;
  for (let i = 0; bytes < megabytes * 2 ** 20; i++) {
    const shape = i % 4 === 3 ? [512, 512, 3, 3] : i % 4 === 2 ? [256] : i % 4 === 1 ? [256, 64, 1, 1] : [64, 64, 3, 3];
    shapes.push([`layer.${i}.weight`, shape]);
    bytes += 4 * shape.reduce((a, b) => a * b, 1);
  }
  const storages = shapes.map(([, shape], key) => {
    const data = Buffer.alloc(4 * shape.reduce((a, b) => a * b, 1));
    for (let j = 0; j < data.length; j += 4) data.writeFloatLE(((j / 4 + key) % 97) / 97 - 0.5, j);
    return [`bench/data/${key}`, data] as [string, Buffer];
  });
  const zip = writeZip([['bench/data.pkl', statePickle(shapes)], ...storages, ['bench/version', Buffer.from('3\n')]]);
  await writeFile(file, zip);
  return shapes.length;
}

async function read(file: string): Promise<void> {
  const { statSync } = await import('node:fs');
  const { readPth, flattenPth, PthTensor } = await import('../src/nn/pth/index.js');
  const { torch } = await import('../src/torch/index.js');
  torch.zeros([1]).dispose(); // load libtorch before the baseline
  const size = statSync(file).size;
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  const t0 = performance.now();
  const checkpoint = await readPth(file);
  const tensors = [...flattenPth(checkpoint.root).values()].filter((v) => v instanceof PthTensor);
  let checksum = 0;
  for (const t of tensors) checksum += (t.data() as Float32Array)[1]; // touch every tensor's view
  const readSeconds = (performance.now() - t0) / 1000;
  const readPeak = process.resourceUsage().maxRSS * 1024 - baseline;
  const t1 = performance.now();
  const torchTensors = tensors.map((t) => t.toTensor());
  const toTensorSeconds = (performance.now() - t1) / 1000;
  const peakExtra = process.resourceUsage().maxRSS * 1024 - baseline;
  console.log(
    JSON.stringify({
      bench: 'pth.read',
      fileMiB: +(size / 2 ** 20).toFixed(1),
      tensors: tensors.length,
      readSeconds: +readSeconds.toFixed(3),
      readPeakExtraMiB: +(readPeak / 2 ** 20).toFixed(1),
      readPeakExtraPerFileSize: +(readPeak / size).toFixed(2),
      toTensorSeconds: +toTensorSeconds.toFixed(3),
      withTensorsPeakExtraMiB: +(peakExtra / 2 ** 20).toFixed(1),
      targets: { readSeconds: 1, readPeakExtraPerFileSize: 2 },
      checksum: +checksum.toFixed(3),
    }),
  );
  torch.dispose(torchTensors);
}

if (args[0] === '--read') {
  await read(args[1]);
} else {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-pth-'));
  try {
    const file = join(dir, 'large.pth');
    const count = await generate(file, Number(arg('--mb', '100')));
    console.log(JSON.stringify({ bench: 'pth.generate', file, tensors: count }));
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', new URL(import.meta.url).pathname, '--read', file], { stdio: 'inherit' });
    if (child.status !== 0) process.exitCode = child.status ?? 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
