/**
 * The browser's engine for the shared pipeline: onnxruntime-web on an ONNX file exported by
 * msccnet, with the node engine's contract (engines.ts `createOrtEngine`): the input side and
 * preprocessing come from the file's metadata, so any registered method's file runs unchanged.
 */
import * as ort from 'onnxruntime-web';
import { MSCCNET_IO } from '../onnx/io.js';
import { auxiliaryFeeds, onnxModelInfo, readTwoHeads } from './metadata.js';
import type { AuxiliaryArrays, EngineOutput, InferenceEngine } from './pipeline.js';

/** Where the model runs: WebGPU, wasm, or WebGPU when this browser has a usable adapter (default). */
export type WebDevice = 'auto' | 'webgpu' | 'wasm';

export interface WebEngineOptions {
  /** default 'auto'; a WebGPU session that cannot be created (unsupported op, lost device) falls back to wasm */
  device?: WebDevice;
  /** folder URL of onnxruntime-web's wasm files (default: onnxruntime-web's own resolution) */
  wasmPaths?: string;
  /** wasm threads (default 1: threads need cross-origin isolation, and one thread keeps results reproducible) */
  threads?: number;
}

/** WebGPU only when the browser exposes it *and* hands out an adapter (headless or blocklisted GPUs do not). */
async function hasWebGpu(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu; // typed here: this file also compiles without DOM types
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** onnxruntime-web over ONNX bytes exported by msccnet; `source` names the file in errors. */
export async function createWebEngine(bytes: Uint8Array, source: string, opts: WebEngineOptions = {}): Promise<InferenceEngine> {
  const info = onnxModelInfo(bytes, source);
  const { inputSide, preprocess, jpegInput } = info;
  if (opts.wasmPaths !== undefined) ort.env.wasm.wasmPaths = opts.wasmPaths;
  ort.env.wasm.numThreads = opts.threads ?? 1;
  const device = opts.device ?? 'auto';
  let provider: 'webgpu' | 'wasm' = device === 'wasm' || (device === 'auto' && !(await hasWebGpu())) ? 'wasm' : 'webgpu';
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: [provider] });
  } catch (err) {
    if (provider === 'wasm') throw err;
    provider = 'wasm';
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  }
  return {
    inputSide,
    preprocess,
    ...(jpegInput && { jpegInput }),
    name: `onnxruntime-web ${ort.env.versions.web ?? ''} (${provider})`,
    async run(input: Float32Array, batch: number, aux: AuxiliaryArrays = {}): Promise<EngineOutput> {
      return readTwoHeads(
        await session.run({
          [MSCCNET_IO.input]: new ort.Tensor('float32', input, [batch, 3, inputSide, inputSide]),
          ...auxiliaryFeeds(info, aux, batch, source, (data, dims) => new ort.Tensor('float32', data, dims)),
        }),
      );
    },
    release: () => session.release(),
  };
}
