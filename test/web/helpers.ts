import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { applyDetfill } from '../../src/models/detfill.js';
import { exportMsccnet } from '../../src/onnx/index.js';
import { createOrtEngine } from '../../src/infer/engines.js';
import { loadFaceDetector } from '../../src/data/faces.js';
import { buildServer, type ServerLimits, type ServerOptions } from '../../src/web/index.js';
import type { EngineOutput, InferenceEngine } from '../../src/infer/index.js';
import { fixtureDir } from '../helpers/fixtures.js';

/** A face crop from the shared fixtures (144² PNG; face-api finds one face in it). */
export const faceImage = () => join(fixtureDir('annotation-pairs'), 'p01_astronaut_sbi_real.png');

// A small MSCCNet (ResNet-18, C = 64, 128² input) with detfill weights: seconds per run. The
// scores mean nothing; that the three paths agree on them does.
const config = { inputSize: 128, backboneDepth: 18 as const, featsChannels: 64, dct: 'paper' as const };

/** Exports the small model to `<dir>/small.onnx` through the library, as `msccnet export` does. */
export async function exportSmallModel(dir: string): Promise<{ path: string; bytes: Uint8Array }> {
  const model = buildMsccnet('msccnet', config).eval();
  applyDetfill(model);
  const { bytes } = exportMsccnet(model, { metadata: { variant: 'msccnet', weights: 'detfill-v1' } });
  model.dispose();
  const path = join(dir, 'small.onnx');
  await writeFile(path, bytes);
  return { path, bytes };
}

/** The server of `msccnet serve` on an ephemeral loopback port. */
export async function startServer(bytes: Uint8Array, limits: Partial<ServerLimits> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const engine = await createOrtEngine(bytes, 'small.onnx', { threads: 1 });
  const app = await buildServer({ engine, modelBytes: bytes, faceDetector: () => loadFaceDetector(), limits });
  app.addHook('onClose', () => engine.release());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** A multipart/form-data body with one file field, built by hand so the file name can be anything. */
export function multipart(bytes: Uint8Array, filename: string, type = 'application/octet-stream'): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----msccnet${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  return {
    payload: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** An engine with fixed logits (K = 2, 4² mask), counting its runs; `gate` holds the first run until opened. */
export function stubEngine(value: number, gate?: Promise<void>): InferenceEngine & { runs: number } {
  const engine = {
    inputSide: 32,
    name: 'stub',
    runs: 0,
    async run(_input: Float32Array, batch: number): Promise<EngineOutput> {
      engine.runs++;
      if (engine.runs === 1 && gate) await gate;
      return { imageLogits: new Float32Array(batch * 2).fill(value), maskLogits: new Float32Array(batch * 2 * 16).fill(value), classes: 2, maskSide: 4 };
    },
    async release() {},
  };
  return engine;
}

export async function stubServer(
  engine: InferenceEngine,
  limits: Partial<ServerLimits> = {},
  extra: Partial<ServerOptions> = {},
): Promise<{ app: FastifyInstance; url: URL }> {
  const app = await buildServer({ engine, modelBytes: new Uint8Array(8), faceDetector: async () => ({ detect: async () => [] }), limits, ...extra });
  return { app, url: new URL(await app.listen({ host: '127.0.0.1', port: 0 })) };
}
