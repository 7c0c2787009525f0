/**
 * The in-browser engine: onnxruntime-web (WebGPU when the browser has it, else wasm) on the
 * server's model, fetched once and kept in the Cache API under its ETag.
 */
import * as ort from 'onnxruntime-web';
import type { EngineOutput, InferenceEngine } from '../../infer/pipeline.js';
import type { InfoResponse } from '../api.js';

const CACHE = 'msccnet-model';

/** The model bytes: from the cache when its ETag matches the server's, else downloaded and cached. */
async function modelBytes(info: InfoResponse, onStatus: (m: string) => void): Promise<Uint8Array> {
  const url = new URL('api/model', location.href).href;
  const cache = 'caches' in globalThis ? await caches.open(CACHE) : undefined;
  const hit = await cache?.match(url);
  if (hit !== undefined && hit.headers.get('etag') === info.modelEtag) return new Uint8Array(await hit.arrayBuffer());
  onStatus(`Downloading the model (${(info.modelBytes / 2 ** 20).toFixed(1)} MiB, once)…`);
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`the model download failed (HTTP ${res.status})`);
  await cache?.put(url, res.clone());
  return new Uint8Array(await res.arrayBuffer());
}

/** WebGPU only when the browser exposes it *and* hands out an adapter (headless or blocklisted GPUs do not). */
async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** An InferenceEngine for the shared pipeline, running in this browser. */
export async function createWebEngine(info: InfoResponse, base: string, onStatus: (m: string) => void): Promise<InferenceEngine> {
  ort.env.wasm.wasmPaths = `${base}ort/`;
  ort.env.wasm.numThreads = 1;   // threads need cross-origin isolation; one thread keeps results reproducible
  const bytes = await modelBytes(info, onStatus);
  const gpu = await hasWebGpu();
  let session: ort.InferenceSession;
  let provider: 'webgpu' | 'wasm' = gpu ? 'webgpu' : 'wasm';
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: [provider] });
  } catch (err) {
    if (provider === 'wasm') throw err;
    provider = 'wasm';
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });   // a GPU that cannot run the graph
  }
  const side = info.inputSide;
  return {
    inputSide: side,
    name: `onnxruntime-web ${ort.env.versions.web ?? ''} (${provider})`,
    async run(input: Float32Array, batch: number): Promise<EngineOutput> {
      const out = await session.run({ [info.input]: new ort.Tensor('float32', input, [batch, 3, side, side]) });
      const img = out[info.outputs.imageLogits];
      const mask = out[info.outputs.maskLogits];
      const result: EngineOutput = {
        imageLogits: (await img.getData()) as Float32Array, maskLogits: (await mask.getData()) as Float32Array,
        classes: Number(img.dims[1]), maskSide: Number(mask.dims[2]),
      };
      img.dispose();
      mask.dispose();
      return result;
    },
    release: () => session.release(),
  };
}
