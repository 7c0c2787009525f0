import { faninValues } from '../../src/models/detfill-fanin.js';
import { writeZip } from './zip.js';

/** One tensor of a file {@link writePth} writes. */
export type PthEntry = { shape: number[]; data: Float32Array | BigInt64Array };

/** A file's tensor: detfill-fanin values by name (1-D ones positive, as BN variances must be). */
export function faninEntry(name: string, shape: number[]): PthEntry {
  if (name.endsWith('num_batches_tracked')) return { shape, data: new BigInt64Array(1) };
  const kind = shape.length >= 2 ? 'weight_nd' : 'bn_running_var';
  return { shape, data: faninValues({ name, shape, kind, fanIn: shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : undefined }) };
}

/**
 * A minimal torch.save writer (zip format, pickle protocol 2) for float32/int64 state dicts, independent
 * of the reader under test: `archive/data.pkl` holds an OrderedDict of
 * `torch._utils._rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())` whose storages
 * are persistent ids `('storage', torch.FloatStorage | LongStorage, key, 'cpu', numel)` → `archive/data/<key>`.
 */
export function writePth(
  state: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array | BigInt64Array }>,
  /** `under`: the state dict as the value of this key of a plain dict, beside `epoch` (a trainer's checkpoint, e.g. `{'state_dict': …, 'epoch': 5}`) */
  opts: { under?: string } = {},
): Buffer {
  const out: number[] = [];
  const op = (...bytes: number[]) => out.push(...bytes);
  const ascii = (s: string) => {
    for (const c of Buffer.from(s, 'latin1')) out.push(c);
  };
  const unicode = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24); // BINUNICODE
    for (const c of b) out.push(c);
  };
  const int = (v: number) => {
    op(0x4a);
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    out.push(...b);
  }; // BININT
  const global = (module: string, name: string) => {
    op(0x63);
    ascii(`${module}\n${name}\n`);
  }; // GLOBAL
  const tuple = (vs: readonly number[]) => {
    op(0x28);
    vs.forEach(int);
    op(0x74);
  }; // MARK … TUPLE
  const orderedDict = () => {
    global('collections', 'OrderedDict');
    op(0x29, 0x52);
  }; // OrderedDict()
  const entries: [string, Uint8Array][] = [];
  op(0x80, 0x02); // PROTO 2
  if (opts.under !== undefined) {
    op(0x7d); // EMPTY_DICT
    unicode(opts.under);
  }
  orderedDict();
  op(0x28); // MARK for SETITEMS
  [...state].forEach(([name, t], i) => {
    unicode(name);
    global('torch._utils', '_rebuild_tensor_v2');
    op(0x28); // MARK: the args
    op(0x28);
    unicode('storage');
    global('torch', t.data instanceof BigInt64Array ? 'LongStorage' : 'FloatStorage');
    unicode(String(i));
    unicode('cpu');
    int(t.data.length);
    op(0x74, 0x51); // BINPERSID
    int(0);
    tuple(t.shape);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    tuple(stride);
    op(0x89); // requires_grad False
    orderedDict();
    op(0x74, 0x52); // TUPLE, REDUCE
    entries.push([`archive/data/${i}`, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
  });
  op(0x75); // SETITEMS
  if (opts.under !== undefined) {
    op(0x73); // SETITEM: {under: the state dict}
    unicode('epoch');
    int(5);
    op(0x73);
  }
  op(0x2e); // STOP
  return writeZip([['archive/data.pkl', Uint8Array.from(out)], ...entries, ['archive/version', Buffer.from('3\n')]]);
}
