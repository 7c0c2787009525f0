/**
 * The page's model: the server's ONNX file, fetched once and kept in the Cache API under its
 * ETag, run by the library's browser engine (infer/web.ts), which reads the input side and
 * preprocessing from the file itself.
 */
import { createWebEngine } from '../../infer/web.js';
import type { InferenceEngine } from '../../infer/pipeline.js';
import type { InfoResponse } from '../api.js';

const CACHE = 'msccnet-model';

/** The model bytes: from the cache when its ETag matches the server's, else downloaded and cached. */
async function modelBytes(url: string, info: InfoResponse, onStatus: (m: string) => void): Promise<Uint8Array> {
  const cache = 'caches' in globalThis ? await caches.open(CACHE) : undefined;
  const hit = await cache?.match(url);
  if (hit !== undefined && hit.headers.get('etag') === info.modelEtag) return new Uint8Array(await hit.arrayBuffer());
  onStatus(`Downloading the model (${(info.modelBytes / 2 ** 20).toFixed(1)} MiB, once)…`);
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`the model download failed (HTTP ${res.status})`);
  await cache?.put(url, res.clone());
  return new Uint8Array(await res.arrayBuffer());
}

/** The server's model as an InferenceEngine in this browser; `base` is the folder of the vendored wasm files. */
export async function openPageEngine(info: InfoResponse, base: string, onStatus: (m: string) => void): Promise<InferenceEngine> {
  const url = new URL('api/model', location.href).href;
  return createWebEngine(await modelBytes(url, info, onStatus), url, { wasmPaths: `${base}ort/` });
}
