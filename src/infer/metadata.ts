/**
 * What an exported ONNX file says about itself (metadata_props written by onnx/export.ts and
 * onnx/method.ts): its input side and preprocessing, so an engine needs no per-method code.
 * No Node imports: the node and the web engine read files, and their outputs, the same way.
 */
import { officialPreprocess, type PreprocessSpec } from '../image/preprocess.js';
import { OnnxModelError } from '../onnx/errors.js';
import { MSCCNET_IO } from '../onnx/io.js';
import { readMetadata } from '../onnx/writer.js';
import type { EngineOutput } from './pipeline.js';

/** An exported file's metadata and the input it expects. */
export interface OnnxModelInfo {
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputSide: number;
  readonly preprocess: PreprocessSpec;
}

/** The preprocessing an exported file states: its `preprocessing` JSON, or its inputSize/mean/std/channelOrder keys; else the official one. */
export function metadataPreprocessing(metadata: Readonly<Record<string, string>>, inputSide: number, source: string): PreprocessSpec {
  if (metadata.preprocessing !== undefined) {
    try {
      return { ...(JSON.parse(metadata.preprocessing) as PreprocessSpec), inputSize: inputSide };
    } catch (err) {
      throw new OnnxModelError(source, 'its "preprocessing" metadata is not JSON', 're-export it with `msccnet export`', { cause: err });
    }
  }
  const triple = (key: string): [number, number, number] | null => {
    const v = metadata[key]?.split(',').map(Number);
    return v?.length === 3 && v.every(Number.isFinite) ? [v[0], v[1], v[2]] : null;
  };
  const [mean, std] = [triple('mean'), triple('std')];
  if (mean === null || std === null) return officialPreprocess(inputSide);
  return { inputSize: inputSide, mean, std, channelOrder: metadata.channelOrder === 'bgr' ? 'bgr' : 'rgb', resize: 'cv2-linear' };
}

/** Reads an msccnet ONNX file's metadata; throws OnnxModelError for other bytes or a file without `inputSize`. */
export function onnxModelInfo(bytes: Uint8Array, source: string): OnnxModelInfo {
  let metadata: Record<string, string>;
  try {
    metadata = readMetadata(bytes);
  } catch (err) {
    throw new OnnxModelError(source, 'not an ONNX file', 'pass a file written by `msccnet export`', { cause: err });
  }
  const inputSide = Number(metadata.inputSize);
  if (!Number.isInteger(inputSide) || inputSide <= 0) {
    throw new OnnxModelError(source, 'has no msccnet metadata (inputSize)', 'export it with `msccnet export`');
  }
  return { metadata, inputSide, preprocess: metadataPreprocessing(metadata, inputSide, source) };
}

/** An output tensor of either onnxruntime build (both are onnxruntime-common tensors). */
interface OrtOutputTensor {
  readonly dims: readonly number[];
  getData(): Promise<unknown>;
  dispose(): void;
}

/** The two heads of a run of an msccnet ONNX file, copied out of onnxruntime's tensors (which are then released). */
export async function readTwoHeads(out: Readonly<Record<string, OrtOutputTensor>>): Promise<EngineOutput> {
  const img = out[MSCCNET_IO.imageLogits];
  const mask = out[MSCCNET_IO.maskLogits];
  const result: EngineOutput = {
    imageLogits: (await img.getData()) as Float32Array,
    maskLogits: (await mask.getData()) as Float32Array,
    classes: Number(img.dims[1]),
    maskSide: Number(mask.dims[2]),
  };
  img.dispose();
  mask.dispose();
  return result;
}
