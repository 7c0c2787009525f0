import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { InputFileError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors } from '../nn/index.js';
import { decodePth, flattenPth, PthTensor, type PthFormat } from '../nn/pth/index.js';
import { dtypeBytes, type DType, type Tensor } from '../torch/index.js';
import { detectConverter, sourceWeights, type ConverterName } from './convert.js';
import { CheckpointLayoutError } from './errors.js';
import { modelFileMetadata, readModelFileInfo, type ModelFileInfo } from './model-file.js';
import type { MethodModel } from './method.js';

/** What `msccnet weights inspect` reports about a weights file. */
export interface WeightsInspection {
  readonly path: string;
  readonly format: PthFormat | 'safetensors';
  readonly tensors: number;
  /** tensor count per dtype */
  readonly dtypes: Partial<Record<DType | string, number>>;
  /** bytes of tensor data (logical elements × element size) */
  readonly bytes: number;
  /** the layout the converters see, or null when no state dict was found */
  readonly converter: ConverterName | null;
  /** the model a self-describing file holds */
  readonly model: ModelFileInfo | null;
  /** plain values beside the tensors outside lists (cur_epoch, meta/…), at most 20 */
  readonly values: Record<string, string>;
}

const SAFETENSORS_DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

/** Reads a .pth/.pt or .safetensors file and describes it without building a model. */
export async function inspectWeights(path: string): Promise<WeightsInspection> {
  const bytes = await readFile(path).catch((err: unknown) => {
    throw new InputFileError(path, 'cannot read', 'check the path', { cause: err });
  });
  const dtypes: Record<string, number> = {};
  let size = 0;
  const values: Record<string, string> = {};
  if (extname(path).toLowerCase() === '.safetensors') {
    const decoded = decodeSafetensors(bytes, path);
    for (const t of decoded.tensors.values()) {
      const dtype = SAFETENSORS_DTYPES[t.dtype] ?? t.dtype;
      dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
      size += t.data.byteLength;
    }
    return {
      path,
      format: 'safetensors',
      tensors: decoded.tensors.size,
      dtypes,
      bytes: size,
      converter: decoded.tensors.size > 0 ? detectConverter(decoded.tensors.keys()) : null,
      model: readModelFileInfo(decoded.metadata, path),
      values,
    };
  }
  const checkpoint = decodePth(bytes, path);
  let count = 0;
  for (const [key, leaf] of flattenPth(checkpoint.root)) {
    if (leaf instanceof PthTensor) {
      count++;
      dtypes[leaf.dtype] = (dtypes[leaf.dtype] ?? 0) + 1;
      size += leaf.numel * dtypeBytes[leaf.dtype];
    } else if (Object.keys(values).length < 20 && !key.split('/').some((part) => /^\d+$/.test(part))) {
      // scalars, not list items
      values[key] = leaf instanceof Uint8Array ? `<${leaf.byteLength} bytes>` : String(leaf);
    }
  }
  let converter: ConverterName | null = null;
  try {
    converter = sourceWeights(checkpoint.root, undefined, path).converter;
  } catch (err) {
    if (!(err instanceof CheckpointLayoutError)) throw err;
    converter = null; // no state dict or no known layout: inspect still lists what is there
  }
  return { path, format: checkpoint.format, tensors: count, dtypes, bytes: size, converter, model: null, values };
}

/** A whole-model safetensors file of `model` that carries its config (bytes, to be written atomically). */
export function encodeModelFile(model: MethodModel, extra: Record<string, string> = {}): Uint8Array {
  return encodeSafetensors(model.stateDict(), { format: 'pt', ...modelFileMetadata(model), ...extra });
}

/** The tensors of a checkpoint under their source names, as safetensors bytes (a format change only). */
export function encodeSourceTensors(tensors: ReadonlyMap<string, Tensor>, extra: Record<string, string>): Uint8Array {
  return encodeSafetensors(new Map(tensors), { format: 'pt', ...extra });
}
