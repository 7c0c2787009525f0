/**
 * A restricted unpickler for the pickles torch.save writes (protocols 2–5). It builds plain
 * values only: globals are looked up in the caller's allow-list and anything else is refused
 * with PthGlobalError before it could be called. There is no INST/OBJ/EXT, no out-of-band
 * buffer, and nothing is ever imported or executed.
 */
import { MsccnetError } from '../../errors.js';
import { PthError, PthGlobalError } from './errors.js';
import type { PthStorage, PthTensor } from './tensor.js';

/** A Python dict (or OrderedDict); keys keep their insertion order. */
export type PyDict = Map<PyKey, PyValue>;
export type PyKey = string | number | bigint | boolean | null;
/** What an unpickled value can be; tuples are frozen arrays, sets become arrays. */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | readonly PyValue[] | PyDict | PyGlobal | PthTensor | PthStorage;

/** An allowed global: a pure constructor of plain values, or a marker (a storage type) when `call` is null. */
export class PyGlobal {
  constructor(
    readonly qualname: string,
    readonly call: ((args: readonly PyValue[]) => PyValue) | null,
  ) {}
}

export interface UnpickleOptions {
  /** names the file in errors */
  source: string;
  /** the allowed global for `module.name`, or undefined to refuse it */
  findGlobal(module: string, name: string): PyGlobal | undefined;
  /** resolves a persistent id (torch's storage references) */
  persistentLoad(pid: PyValue): PyValue;
}

/**
 * The widest integer accepted (LONG1/LONG4 bytes, INT/LONG digits). Checkpoint fields need at
 * most 64 bits (the legacy magic number, 80); Python accepts any width, but a 256 KiB integer
 * is only a way to make a reader spin.
 */
const MAX_INT_BYTES = 1024;
const MAX_INT_DIGITS = 2500;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

class Mark {}
type StackItem = PyValue | Mark;

/** Unpickles one pickle starting at `start`; returns its value and the offset after its STOP. */
export function unpickle(bytes: Uint8Array, start: number, options: UnpickleOptions): { value: PyValue; end: number } {
  const { source } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  let p = start;
  const fail = (problem: string): never => {
    throw new PthError(source, `corrupt pickle at byte ${p}: ${problem}`);
  };
  const need = (n: number): number => {
    if (p + n > bytes.byteLength) throw new PthError(source, `truncated pickle: needs ${n} more bytes at offset ${p} of ${bytes.byteLength}`);
    const at = p;
    p += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length out of range');
    return Number(v);
  };
  const take = (n: number): Uint8Array => bytes.subarray(need(n), p);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw new PthError(source, `truncated pickle: unterminated text field at offset ${p}`);
    const text = latin1.decode(bytes.subarray(p, end));
    p = end + 1;
    return text;
  };

  const stack: StackItem[] = [];
  const metastack: StackItem[][] = [];
  const memo = new Map<number, PyValue>();
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop();
    if (v instanceof Mark) return fail('unexpected MARK');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (stack.length === 0 || v instanceof Mark) fail('stack underflow');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack as PyValue[];
    const outer = metastack.pop();
    if (outer === undefined) fail('no MARK');
    const taken = items.splice(0); // MARK emptied the stack, so all of it is the marked run
    for (const v of outer as StackItem[]) stack.push(v);
    return taken;
  };
  const push = (v: PyValue) => {
    stack.push(v);
  };
  const tuple = (items: PyValue[]): readonly PyValue[] => Object.freeze(items);
  const dictOf = (v: PyValue): PyDict => (v instanceof Map ? v : fail(`SETITEM on ${kind(v)}`));
  const listOf = (v: PyValue): PyValue[] => (Array.isArray(v) && !Object.isFrozen(v) ? (v as PyValue[]) : fail(`APPEND on ${kind(v)}`));
  const key = (k: PyValue): PyKey =>
    k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k)
      ? (k as PyKey)
      : fail(`dict key of type ${kind(k)} (only str, int, float, bool, None keys are supported)`);
  const global = (module: string, name: string): PyGlobal => {
    const g = options.findGlobal(module, name);
    if (g === undefined) throw new PthGlobalError(source, `${module}.${name}`);
    return g;
  };
  const call = (callee: PyValue, args: PyValue): PyValue => {
    if (!(callee instanceof PyGlobal) || callee.call === null)
      return fail(`call of ${callee instanceof PyGlobal ? callee.qualname : kind(callee)}, which is not callable`);
    if (!Array.isArray(args)) return fail(`call of ${callee.qualname} with ${kind(args)} arguments`);
    try {
      return callee.call(args);
    } catch (err) {
      if (err instanceof MsccnetError) throw err;
      throw new PthError(source, `corrupt pickle at byte ${p}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const int = (text: string): number | bigint => {
    const t = text.endsWith('L') ? text.slice(0, -1) : text;
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer '${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`);
    if (t.length > MAX_INT_DIGITS) fail(`an integer of ${t.length} digits (at most ${MAX_INT_DIGITS}: no checkpoint field is that wide)`);
    return safe(BigInt(t));
  };
  const longBytes = (n: number): number | bigint => {
    if (n > MAX_INT_BYTES) fail(`an integer of ${n} bytes (at most ${MAX_INT_BYTES}: no checkpoint field is that wide)`);
    const b = take(n);
    if (n === 0) return 0;
    // two's complement, little-endian: one hex string and one BigInt parse, linear in n
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += HEX[b[i]];
    let v = BigInt(`0x${hex}`);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return safe(v);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        u64();
        break; // FRAME: frames are only a read-ahead hint
      case 0x2e: {
        // STOP
        const value = pop();
        return { value, end: p };
      }
      case 0x28:
        metastack.push(stack.splice(0));
        break; // MARK
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        push(top());
        break; // DUP
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a:
        push(view.getInt32(need(4), true));
        break; // BININT
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a:
        push(longBytes(u8()));
        break; // LONG1
      case 0x8b:
        push(longBytes(u32()));
        break; // LONG4
      case 0x49: {
        // INT (protocol 0; "01"/"00" are True/False)
        const text = line();
        push(text === '01' ? true : text === '00' ? false : int(text));
        break;
      }
      case 0x4c:
        push(int(line()));
        break; // LONG
      case 0x46:
        push(Number.parseFloat(line()));
        break; // FLOAT
      case 0x47:
        push(view.getFloat64(need(8), false));
        break; // BINFLOAT (big-endian)
      case 0x58:
        push(utf8.decode(take(u32())));
        break; // BINUNICODE
      case 0x8c:
        push(utf8.decode(take(u8())));
        break; // SHORT_BINUNICODE
      case 0x8d:
        push(utf8.decode(take(u64())));
        break; // BINUNICODE8
      case 0x56:
        push(line());
        break; // UNICODE (raw-unicode-escape; ASCII in practice)
      case 0x54:
        push(latin1.decode(take(u32())));
        break; // BINSTRING (Python 2 str)
      case 0x55:
        push(latin1.decode(take(u8())));
        break; // SHORT_BINSTRING
      case 0x53:
        push(line().replace(/^(['"])(.*)\1$/s, '$2'));
        break; // STRING
      case 0x42:
        push(take(u32()));
        break; // BINBYTES
      case 0x43:
        push(take(u8()));
        break; // SHORT_BINBYTES
      case 0x8e:
        push(take(u64()));
        break; // BINBYTES8
      case 0x96:
        push(take(u64()));
        break; // BYTEARRAY8
      case 0x29:
        push(tuple([]));
        break; // EMPTY_TUPLE
      case 0x85:
        push(tuple([pop()]));
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        push(tuple([pop(), b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      } // TUPLE3
      case 0x74:
        push(tuple(popMark()));
        break; // TUPLE
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x6c:
        push(popMark());
        break; // LIST
      case 0x61: {
        const v = pop();
        listOf(top()).push(v);
        break;
      } // APPEND
      case 0x65: {
        const vs = popMark();
        appendAll(listOf(top()), vs);
        break;
      } // APPENDS
      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x64: {
        // DICT
        const items = popMark();
        const d: PyDict = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(key(items[i]), items[i + 1]);
        push(d);
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        dictOf(top()).set(key(k), v);
        break;
      } // SETITEM
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = dictOf(top());
        for (let i = 0; i + 1 < items.length; i += 2) d.set(key(items[i]), items[i + 1]);
        break;
      }
      case 0x8f:
        push([]);
        break; // EMPTY_SET (as a list)
      case 0x90: {
        const vs = popMark();
        appendAll(listOf(top()), vs);
        break;
      } // ADDITEMS
      case 0x91:
        push(tuple(popMark()));
        break; // FROZENSET
      case 0x67:
        push(memoGet(memo, Number(int(line())), fail));
        break; // GET
      case 0x68:
        push(memoGet(memo, u8(), fail));
        break; // BINGET
      case 0x6a:
        push(memoGet(memo, u32(), fail));
        break; // LONG_BINGET
      case 0x70:
        memo.set(Number(int(line())), top());
        break; // PUT
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        const args = pop();
        push(call(pop(), args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        push(call(pop(), args));
        break;
      } // NEWOBJ: cls(*args) for our plain constructors
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) fail('NEWOBJ_EX with keyword arguments');
        push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        // OrderedDict state dicts carry `_metadata` (module versions) as attributes: not needed to read tensors
        if (!(target instanceof Map) || !(state instanceof Map || state === null)) fail(`BUILD on ${kind(target)}`);
        break;
      }
      case 0x51:
        push(options.persistentLoad(pop()));
        break; // BINPERSID
      case 0x50:
        push(options.persistentLoad(line()));
        break; // PERSID
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not supported by the restricted unpickler (INST, OBJ, EXT and out-of-band buffers are refused)`);
    }
  }
}

/** Appends one by one: `push(...items)` overflows the call stack past ~100,000 items. */
function appendAll(list: PyValue[], items: readonly PyValue[]): void {
  for (const v of items) list.push(v);
}

function memoGet(memo: Map<number, PyValue>, index: number, fail: (problem: string) => never): PyValue {
  const v = memo.get(index);
  return v === undefined ? fail(`memo entry ${index} is not set`) : v;
}

function safe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A short type name for error messages. */
export function kind(v: PyValue | undefined): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyGlobal) return v.qualname;
  if (typeof v === 'object') return v.constructor.name;
  return typeof v;
}
