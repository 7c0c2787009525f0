import { torch } from '../../torch/torch.js';
import { dtypeBytes, typedArrayCtor, type DType, type Tensor, type TypedArrayOf } from '../../torch/tensor.js';
import { PthError } from './errors.js';

/**
 * How far a read may outgrow what the file holds: a strided view materialised, or a deflated
 * storage inflated for the elements its tensors address, may cost at most 16× that plus 16 MiB.
 * Real checkpoints stay far below (a state dict's tensors are their storages); a stride-0 view
 * of one float as 16384×16384 (1 GiB from 4 bytes) does not.
 */
export const GROWTH_FACTOR = 16;
export const GROWTH_SLACK_BYTES = 16 * 2 ** 20;

/** `n` bytes for messages: 1.0 MiB, 4 bytes. */
export function byteCount(n: number): string {
  return n < 2 ** 20 ? `${n} bytes` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** The first dimensions of a size or stride list, for one-line messages. */
function listed(values: readonly number[]): string {
  return values.length > 8 ? `${values.slice(0, 8).join(', ')}, … ${values.length} in all` : values.join(', ');
}

/**
 * One PyTorch storage: a flat run of `numel` elements of `dtype`. Its bytes are a view into the
 * file's buffer (no copy), set once the reader has located and checked them.
 */
export class PthStorage {
  #bytes: Uint8Array | null = null;
  #addressed = 0;
  constructor(
    readonly source: string,
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}

  /** bytes the storage holds: numel × element size */
  get byteLength(): number {
    return this.numel * dtypeBytes[this.dtype];
  }

  /** how many leading elements the tensors built on this storage address */
  get addressed(): number {
    return this.#addressed;
  }

  /** whether the reader has found and checked the storage's bytes */
  get attached(): boolean {
    return this.#bytes !== null;
  }

  get bytes(): Uint8Array {
    if (this.#bytes === null) throw new PthError(this.source, `storage '${this.key}' has no data in the file`);
    return this.#bytes;
  }

  /** Internal: a tensor reaches up to element `end` (exclusive). */
  address(end: number): void {
    this.#addressed = Math.max(this.#addressed, end);
  }

  /** Internal: attaches the storage's bytes, which must be exactly numel elements. */
  attach(bytes: Uint8Array): void {
    const need = this.byteLength;
    if (bytes.byteLength !== need) {
      throw new PthError(
        this.source,
        `${bytes.byteLength < need ? 'truncated archive' : 'corrupt archive'}: storage '${this.key}' holds ${bytes.byteLength} bytes, its ${this.numel} ${this.dtype} elements need ${need}`,
      );
    }
    // legacy streams place storages at any byte offset: a misaligned one is copied once here
    this.#bytes = bytes.byteOffset % dtypeBytes[this.dtype] === 0 ? bytes : new Uint8Array(bytes);
  }

  /** The whole storage as a typed array over its bytes (no copy). */
  elements(): TypedArrayOf[DType] {
    const bytes = this.bytes;
    return new typedArrayCtor[this.dtype](bytes.buffer as ArrayBuffer, bytes.byteOffset, this.numel);
  }
}

/**
 * A tensor as torch.save describes it: a window (offset, shape, strides) over a storage that
 * other tensors may share. `data()` gives its logical elements in row-major order. The
 * constructor refuses a window that leaves its storage, a size or stride that is not a
 * non-negative integer, and an overlapping view whose materialised copy would outgrow its
 * storage past GROWTH_FACTOR: the consumers (safetensors, libtorch parameters) need dense data,
 * so keeping such a view lazy would only move the blow-up to them.
 */
export class PthTensor {
  readonly numel: number;
  constructor(
    readonly storage: PthStorage,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {
    const fail = (problem: string): never => {
      const where = `shape [${listed(shape)}], strides [${listed(stride)}] at offset ${storageOffset} on storage '${storage.key}' (${storage.numel} elements)`;
      throw new PthError(storage.source, `corrupt tensor: ${where}: ${problem}`);
    };
    const count = (v: number) => Number.isSafeInteger(v) && v >= 0;
    if (shape.length !== stride.length) fail('sizes and strides differ in length');
    if (!shape.every(count)) fail('a size is not a non-negative integer');
    if (!stride.every(count)) fail('a stride is not a non-negative integer');
    if (!count(storageOffset)) fail('the offset is not a non-negative integer');
    let numel = 1;
    for (const d of shape) numel *= d;
    if (!Number.isSafeInteger(numel)) fail('too many elements');
    this.numel = numel;
    const end = numel === 0 ? 0 : shape.reduce((acc, d, i) => acc + (d - 1) * stride[i], storageOffset) + 1;
    if (end > storage.numel) fail(`it reaches element ${end - 1}, outside its storage`);
    const bytes = numel * dtypeBytes[storage.dtype];
    if (bytes > GROWTH_FACTOR * storage.byteLength + GROWTH_SLACK_BYTES) {
      fail(
        `an overlapping view of ${storage.numel} stored elements that would take ${byteCount(bytes)} once materialised; refused (re-save it with tensor.contiguous())`,
      );
    }
    storage.address(end);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }
  /** PyTorch's is_contiguous: row-major strides, ignoring dimensions of size 1. */
  get contiguous(): boolean {
    let expected = 1;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      if (this.shape[d] === 1) continue;
      if (this.stride[d] !== expected) return this.numel === 0;
      expected *= this.shape[d];
    }
    return true;
  }

  /**
   * The logical elements in row-major order (float16/bfloat16 as raw bits, bool as 0/1 bytes):
   * a view into the file when contiguous and aligned, otherwise materialised into a new array.
   */
  data(): TypedArrayOf[DType] {
    const all = this.storage.elements();
    if (this.contiguous) return all.subarray(this.storageOffset, this.storageOffset + this.numel);
    const out = new typedArrayCtor[this.dtype](this.numel);
    const rank = this.shape.length;
    const index = new Array<number>(rank).fill(0);
    let from = this.storageOffset;
    const copy = out as unknown as { [i: number]: number | bigint };
    const src = all as unknown as { readonly [i: number]: number | bigint };
    for (let i = 0; i < out.length; i++) {
      copy[i] = src[from];
      for (let d = rank - 1; d >= 0; d--) {
        // odometer over the logical index
        index[d]++;
        from += this.stride[d];
        if (index[d] < this.shape[d]) break;
        from -= this.stride[d] * this.shape[d];
        index[d] = 0;
      }
    }
    return out;
  }

  /** A torch tensor of the same dtype and shape; shares the file's memory when `data()` is a view. */
  toTensor(): Tensor {
    return torch.fromTypedArray(this.data(), this.shape, this.dtype);
  }
}
