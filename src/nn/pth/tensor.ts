import { torch } from '../../torch/torch.js';
import { dtypeBytes, typedArrayCtor, type DType, type Tensor, type TypedArrayOf } from '../../torch/tensor.js';
import { PthError } from './errors.js';

/**
 * One PyTorch storage: a flat run of `numel` elements of `dtype`. Its bytes are a view into the
 * file's buffer (no copy), set once the reader has located them.
 */
export class PthStorage {
  #bytes: Uint8Array | null = null;
  constructor(
    readonly source: string,
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}

  get bytes(): Uint8Array {
    if (this.#bytes === null) throw new PthError(this.source, `storage '${this.key}' has no data in the file`);
    return this.#bytes;
  }

  /** Internal: attaches the storage's bytes (checked to hold numel elements). */
  attach(bytes: Uint8Array): void {
    const need = this.numel * dtypeBytes[this.dtype];
    if (bytes.byteLength < need) {
      throw new PthError(
        this.source,
        `truncated archive: storage '${this.key}' holds ${bytes.byteLength} bytes, ${this.numel} ${this.dtype} elements need ${need}`,
      );
    }
    const exact = bytes.subarray(0, need);
    // legacy streams place storages at any byte offset: a misaligned one is copied once here
    this.#bytes = exact.byteOffset % dtypeBytes[this.dtype] === 0 ? exact : new Uint8Array(exact);
  }

  /** The whole storage as a typed array over its bytes (no copy). */
  elements(): TypedArrayOf[DType] {
    const bytes = this.bytes;
    return new typedArrayCtor[this.dtype](bytes.buffer as ArrayBuffer, bytes.byteOffset, this.numel);
  }
}

/**
 * A tensor as torch.save describes it: a window (offset, shape, strides) over a storage that
 * other tensors may share. `data()` gives its logical elements in row-major order.
 */
export class PthTensor {
  constructor(
    readonly storage: PthStorage,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {
    const last = this.numel === 0 ? 0 : shape.reduce((acc, d, i) => acc + (d - 1) * stride[i], storageOffset) + 1;
    if (shape.length !== stride.length || storageOffset < 0 || stride.some((s) => s < 0) || last > storage.numel) {
      throw new PthError(
        storage.source,
        `corrupt tensor: shape [${shape.join(', ')}], strides [${stride.join(', ')}] at offset ${storageOffset} do not fit storage '${storage.key}' of ${storage.numel} elements`,
      );
    }
  }

  get dtype(): DType {
    return this.storage.dtype;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
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
