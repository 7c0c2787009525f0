/**
 * What an exported ONNX file says about itself (metadata_props written by onnx/export.ts and
 * onnx/method.ts): its input side and preprocessing, so an engine needs no per-method code.
 * No Node imports: the node and the web engine read files, and their outputs, the same way.
 */
import { officialPreprocess, type PreprocessSpec } from '../image/preprocess.js';
import { OnnxModelError } from '../onnx/errors.js';
import { MSCCNET_IO } from '../onnx/io.js';
import { readMetadata } from '../onnx/writer.js';
import { CATNET_AUX_INPUTS } from '../image/jpeg/index.js';
import type { AuxiliaryArrays, EngineOutput, JpegInputSpec } from './pipeline.js';

/** An exported file's metadata and the input it expects. */
export interface OnnxModelInfo {
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputSide: number;
  readonly preprocess: PreprocessSpec;
  /** set when its graph reads a JPEG's coefficients after `image` (metadata `auxiliaryInputs`) */
  readonly jpegInput?: JpegInputSpec;
}

/** The file's further graph inputs: none, or the JPEG's (CAT-Net's), with the quality of its config's re-encode. */
function metadataJpegInput(metadata: Readonly<Record<string, string>>, source: string): JpegInputSpec | undefined {
  if (metadata.auxiliaryInputs === undefined) return undefined;
  if (metadata.auxiliaryInputs !== CATNET_AUX_INPUTS.map((a) => a.name).join(',')) {
    throw new OnnxModelError(source, `reads inputs this version cannot build (${metadata.auxiliaryInputs})`, 'update msccnet, or export the model again');
  }
  let jpegQuality: unknown;
  try {
    jpegQuality = (JSON.parse(metadata.config ?? '{}') as { jpegQuality?: unknown }).jpegQuality;
  } catch (err) {
    throw new OnnxModelError(source, 'its "config" metadata is not JSON', 're-export it with `msccnet export`', { cause: err });
  }
  if (!(Number.isInteger(jpegQuality) && (jpegQuality as number) >= 1 && (jpegQuality as number) <= 100)) {
    throw new OnnxModelError(source, 'reads JPEG coefficients but its config has no jpegQuality (1–100)', 're-export it with `msccnet export`');
  }
  return { jpegQuality: jpegQuality as number };
}

/**
 * onnxruntime feeds of the auxiliary inputs of a file with `jpegInput` (`make` builds the tensor
 * of either onnxruntime build); a batch without them is refused before the session sees it.
 */
export function auxiliaryFeeds<T>(
  info: Pick<OnnxModelInfo, 'jpegInput' | 'inputSide'>,
  aux: AuxiliaryArrays,
  batch: number,
  source: string,
  make: (data: Float32Array, dims: number[]) => T,
): Record<string, T> {
  if (info.jpegInput === undefined) return {};
  const feeds: Record<string, T> = {};
  for (const a of CATNET_AUX_INPUTS) {
    const data = aux[a.name];
    const dims = [batch, ...a.dims(info.inputSide)];
    if (data?.length !== dims.reduce((x, y) => x * y, 1)) {
      throw new OnnxModelError(
        source,
        `needs its input ${a.name} [${dims.join(', ')}] beside the image`,
        "build the batch from the file's JPEG source (runJpegRegion)",
      );
    }
    feeds[a.name] = make(data, dims);
  }
  return feeds;
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
  const jpegInput = metadataJpegInput(metadata, source);
  return { metadata, inputSide, preprocess: metadataPreprocessing(metadata, inputSide, source), ...(jpegInput && { jpegInput }) };
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
