/**
 * Reads PyTorch checkpoints (`torch.save`) without Python: the zip format (default since 1.6;
 * `<any prefix>/data.pkl` + `<prefix>/data/<key>`) and the legacy stream
 * (`_use_new_zipfile_serialization=False`: magic, protocol, sys-info pickles, the object pickle,
 * the storage keys, then each storage as an int64 element count and its raw bytes).
 * The whole file is read once; tensors are views into that buffer, never a second copy.
 */
import { readFile } from 'node:fs/promises';
import { dtypeBytes, type DType } from '../../torch/tensor.js';
import { InputFileError, MsccnetError } from '../../errors.js';
import { PthError } from './errors.js';
import { PyGlobal, kind, unpickle, type PyDict, type PyValue } from './pickle.js';
import { byteCount, GROWTH_FACTOR, GROWTH_SLACK_BYTES, PthStorage, PthTensor } from './tensor.js';
import { readZipDirectory, zipEntryData, type ZipEntry } from './zip.js';

export type PthFormat = 'zip' | 'legacy';

/** A decoded checkpoint: the unpickled object, whose tensors are PthTensor views into the file. */
export interface PthCheckpoint {
  readonly format: PthFormat;
  readonly root: PyValue;
  readonly source: string;
}

/** torch's legacy storage classes and the element type each holds. */
const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** The magic number that opens a legacy torch.save stream. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Reads and decodes a .pth / .pt file. */
export async function readPth(path: string): Promise<PthCheckpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputFileError(path, `cannot read (${err instanceof Error ? err.message : String(err)})`, 'check the path of the checkpoint', { cause: err });
  }
  return decodePth(bytes, path);
}

/**
 * Decodes a checkpoint held in memory; `source` names it in errors. Every failure is a PthError
 * (or PthGlobalError) naming `source`: storages are checked against their declared size and
 * dtype, tensors against their storage, and the unpickled tree is checked to be acyclic and at
 * most MAX_NESTING containers deep before anyone walks it.
 */
export function decodePth(bytes: Uint8Array, source = '.pth buffer'): PthCheckpoint {
  try {
    const checkpoint = decodeFormat(bytes, source);
    checkTree(checkpoint.root, source);
    return checkpoint;
  } catch (err) {
    if (err instanceof MsccnetError) throw err;
    // a check we missed must still end as one line naming the file, not a stack trace
    throw new PthError(source, `corrupt checkpoint (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

function decodeFormat(bytes: Uint8Array, source: string): PthCheckpoint {
  if (bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return { format: 'zip', root: decodeZip(bytes, source), source };
  }
  if (bytes.byteLength >= 2 && bytes[0] === 0x80) return { format: 'legacy', root: decodeLegacy(bytes, source), source };
  if (bytes.byteLength > 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar') {
    throw new PthError(source, 'a tar checkpoint of PyTorch < 0.4 is not supported (load and re-save it with a recent torch.save)');
  }
  throw new PthError(source, bytes.byteLength === 0 ? 'the file is empty' : 'neither a zip archive nor a pickle stream: not a PyTorch checkpoint');
}

/**
 * The largest data.pkl inflated from a deflated archive: a state dict's pickle is kilobytes to a
 * few megabytes (the tensors live in their own entries).
 */
const MAX_PICKLE_BYTES = 256 * 2 ** 20;
/** Containers nested deeper than this are refused: torch.save of a state dict nests 2–4 deep. */
export const MAX_NESTING = 1000;

function decodeZip(bytes: Uint8Array, source: string): PyValue {
  const entries = readZipDirectory(bytes, source);
  const pickleName = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pickleName === undefined) throw new PthError(source, 'the archive has no data.pkl: a zip file, but not a torch.save checkpoint');
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder !== undefined && new TextDecoder().decode(zipEntryData(bytes, byteorder, source, 16)).trim() === 'big') {
    throw new PthError(source, 'a big-endian checkpoint is not supported');
  }
  const storages = new Map<string, { storage: PthStorage; entry: ZipEntry }>();
  const persistentLoad = (pid: PyValue): PyValue => {
    const [tag, type, key, , numel] = storageId(pid, 5, source);
    const dtype = storageDtype(type, source);
    const known = storages.get(key);
    if (known !== undefined) return sameStorage(known.storage, dtype, numel, source);
    const entry = entries.get(`${prefix}data/${key}`);
    if (entry === undefined) throw new PthError(source, `truncated archive: storage '${key}' (${prefix}data/${key}) is missing`);
    const storage = new PthStorage(source, key, dtype, count(numel, source, tag));
    storages.set(key, { storage, entry });
    return storage;
  };
  const root = unpickle(zipEntryData(bytes, entries.get(pickleName)!, source, MAX_PICKLE_BYTES), 0, { source, findGlobal, persistentLoad }).value;
  // storages are read once the tensors are known, so a deflated one is inflated only when they use it
  for (const { storage, entry } of storages.values()) {
    if (entry.size !== storage.byteLength) {
      throw new PthError(
        source,
        `corrupt archive: storage '${storage.key}' declares ${entry.size} bytes in the archive, its ${storage.numel} ${storage.dtype} elements need ${storage.byteLength}`,
      );
    }
    const addressed = storage.addressed * dtypeBytes[storage.dtype];
    if (entry.method !== 0 && storage.byteLength > GROWTH_FACTOR * addressed + GROWTH_SLACK_BYTES) {
      throw new PthError(
        source,
        `corrupt archive: deflated storage '${storage.key}' would inflate to ${byteCount(storage.byteLength)} for tensors that address ${byteCount(addressed)} of it; refused`,
      );
    }
    storage.attach(zipEntryData(bytes, entry, source, storage.byteLength));
  }
  return root;
}

/** A storage key met again must name the same dtype and size. */
function sameStorage(storage: PthStorage, dtype: DType, numel: PyValue, source: string): PthStorage {
  if (storage.dtype !== dtype || storage.numel !== numel) {
    throw new PthError(
      source,
      `corrupt checkpoint: storage '${storage.key}' is ${storage.numel} ${storage.dtype} elements, then ${typeof numel === 'number' ? numel : kind(numel)} ${dtype} elements`,
    );
  }
  return storage;
}

/**
 * Refuses a container that contains itself and nesting deeper than MAX_NESTING, walking each
 * container once (memo-shared containers are visited once, not once per path) and iteratively.
 */
function checkTree(root: PyValue, source: string): void {
  const isContainer = (v: PyValue): v is PyValue[] | PyDict => Array.isArray(v) || v instanceof Map;
  if (!isContainer(root)) return;
  /** height (containers on the longest downward path) of each finished container */
  const height = new Map<object, number>();
  const open = new Set<object>();
  const stack: { node: object; children: Iterator<PyValue>; height: number }[] = [];
  const enter = (node: PyValue[] | PyDict) => {
    open.add(node);
    stack.push({ node, children: (node instanceof Map ? node.values() : node.values()) as Iterator<PyValue>, height: 1 });
  };
  const tooDeep = () => new PthError(source, `corrupt checkpoint: containers nested more than ${MAX_NESTING} deep (a state dict nests 2–4 deep)`);
  enter(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const next = frame.children.next();
    if (next.done) {
      stack.pop();
      open.delete(frame.node);
      height.set(frame.node, frame.height);
      if (stack.length > 0) stack[stack.length - 1].height = Math.max(stack[stack.length - 1].height, frame.height + 1);
      continue;
    }
    const child = next.value;
    if (!isContainer(child)) continue;
    if (open.has(child)) throw new PthError(source, `corrupt checkpoint: a ${kind(child)} contains itself`);
    const known = height.get(child);
    if (known !== undefined) {
      if (stack.length + known > MAX_NESTING) throw tooDeep();
      frame.height = Math.max(frame.height, known + 1);
    } else {
      if (stack.length >= MAX_NESTING) throw tooDeep();
      enter(child);
    }
  }
}

function decodeLegacy(bytes: Uint8Array, source: string): PyValue {
  const plain = {
    source,
    findGlobal,
    persistentLoad: (pid: PyValue): PyValue => {
      throw new PthError(source, `unexpected persistent id ${kind(pid)} in a header pickle`);
    },
  };
  const magic = unpickle(bytes, 0, plain);
  if (magic.value !== LEGACY_MAGIC) throw new PthError(source, 'a pickle, but not a torch.save checkpoint (no legacy magic number)');
  const protocol = unpickle(bytes, magic.end, plain);
  if (protocol.value !== 1001) throw new PthError(source, `legacy protocol version ${String(protocol.value)} is not supported (expected 1001)`);
  const sysInfo = unpickle(bytes, protocol.end, plain);
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) throw new PthError(source, 'a big-endian checkpoint is not supported');
  const storages = new Map<string, PthStorage>();
  const persistentLoad = (pid: PyValue): PyValue => {
    const [, type, key, , numel, view] = storageId(pid, 6, source);
    if (view !== null) throw new PthError(source, 'storage views of pre-1.0 checkpoints are not supported (re-save the checkpoint with a recent torch.save)');
    const dtype = storageDtype(type, source);
    const known = storages.get(key);
    if (known !== undefined) return sameStorage(known, dtype, numel, source);
    const storage = new PthStorage(source, key, dtype, count(numel, source, 'storage'));
    storages.set(key, storage);
    return storage;
  };
  const main = unpickle(bytes, sysInfo.end, { source, findGlobal, persistentLoad });
  const keys = unpickle(bytes, main.end, plain);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string'))
    throw new PthError(source, 'corrupt checkpoint: the storage key list is not a list of strings');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = keys.end;
  for (const key of keys.value as string[]) {
    const storage = storages.get(key);
    if (storage === undefined) throw new PthError(source, `corrupt checkpoint: storage '${key}' is listed but no tensor uses it`);
    if (p + 8 > bytes.byteLength) throw new PthError(source, `truncated file: storage '${key}' is missing`);
    const numel = Number(view.getBigInt64(p, true));
    const size = storage.byteLength;
    if (numel !== storage.numel) throw new PthError(source, `corrupt checkpoint: storage '${key}' holds ${numel} elements, its tensors say ${storage.numel}`);
    p += 8;
    if (p + size > bytes.byteLength) throw new PthError(source, `truncated file: storage '${key}' needs ${size} bytes at offset ${p} of ${bytes.byteLength}`);
    storage.attach(bytes.subarray(p, p + size));
    p += size;
  }
  const unlisted = [...storages.values()].find((s) => !s.attached);
  if (unlisted !== undefined) throw new PthError(source, `truncated file: storage '${unlisted.key}' is used by a tensor but missing from the storage list`);
  return main.value;
}

/** The fields of a storage persistent id `('storage', type, key, location, numel[, view])`. */
function storageId(pid: PyValue, length: number, source: string): [string, PyValue, string, PyValue, PyValue, PyValue] {
  if (!Array.isArray(pid) || pid.length !== length || pid[0] !== 'storage' || typeof pid[2] !== 'string') {
    throw new PthError(source, `unsupported persistent id ${kind(pid)} (expected a ('storage', type, key, location, numel) tuple)`);
  }
  return [pid[0], pid[1], pid[2], pid[3], pid[4], length > 5 ? pid[5] : null];
}

function storageDtype(type: PyValue, source: string): DType {
  const name = type instanceof PyGlobal ? type.qualname.replace(/^torch\./, '') : '';
  const dtype = STORAGE_DTYPES[name];
  if (dtype === undefined) throw new PthError(source, `unsupported storage type ${kind(type)} (supported: ${Object.keys(STORAGE_DTYPES).join(', ')})`);
  return dtype;
}

function count(v: PyValue, source: string, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new PthError(source, `corrupt ${what}: element count ${typeof v === 'number' || typeof v === 'bigint' ? String(v) : kind(v)}`);
  return v;
}

/** The allow-list: pure constructors of containers, tensors and scalars. Everything else is refused. */
const ALLOWED = new Map<string, PyGlobal>();
function allow(qualname: string, call: ((args: readonly PyValue[]) => PyValue) | null): void {
  ALLOWED.set(qualname, new PyGlobal(qualname, call));
}
allow('collections.OrderedDict', (args) => {
  const d: PyDict = new Map();
  const items = args[0];
  if (Array.isArray(items)) for (const pair of items) if (Array.isArray(pair) && pair.length === 2) d.set(pair[0] as string, pair[1]);
  return d;
});
allow('torch._utils._rebuild_tensor_v2', (args) => rebuildTensor(args));
allow('torch._utils._rebuild_tensor', (args) => rebuildTensor(args));
allow('torch._utils._rebuild_parameter', (args) => parameterData(args));
allow('torch._utils._rebuild_parameter_with_state', (args) => parameterData(args));
for (const name of Object.keys(STORAGE_DTYPES)) allow(`torch.${name}`, null);
for (const [name, dtype] of Object.entries(TORCH_DTYPES)) allow(`torch.${name}`, () => dtype);
allow('torch.device', (args) => (args.length > 1 && args[1] !== null ? `${String(args[0])}:${String(args[1])}` : String(args[0])));
// protocol 2 writes Python 3 bytes as _codecs.encode(text, 'latin1')
allow('_codecs.encode', (args) => Uint8Array.from(String(args[0]), (c) => c.charCodeAt(0) & 0xff));

function findGlobal(module: string, name: string): PyGlobal | undefined {
  return ALLOWED.get(`${module}.${name}`);
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
function rebuildTensor(args: readonly PyValue[]): PthTensor {
  const [storage, offset, size, stride, requiresGrad] = args;
  // bigints become unsafe numbers, which PthTensor refuses with the shape in its message
  const numbers = (v: PyValue): number[] | null =>
    Array.isArray(v) && v.every((d) => typeof d === 'number' || typeof d === 'bigint') ? v.map((d) => Number(d)) : null;
  const shape = numbers(size);
  const strides = numbers(stride);
  if (!(storage instanceof PthStorage) || (typeof offset !== 'number' && typeof offset !== 'bigint') || shape === null || strides === null) {
    throw new Error(`tensor rebuild with arguments (${args.map(kind).join(', ')})`);
  }
  return new PthTensor(storage, Number(offset), shape, strides, requiresGrad === true);
}

function parameterData(args: readonly PyValue[]): PthTensor {
  const data = args[0];
  if (!(data instanceof PthTensor)) throw new Error(`parameter rebuild of ${kind(data)}`);
  return data;
}
