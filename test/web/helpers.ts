import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
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

const CHROMIUM = '/usr/bin/chromium';
// Keep Debian's chromium off the network (machines/node.md): no background fetches, no QUIC, no first-run work.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Debian's headless chromium with a fresh profile (a persistent context is how playwright takes a
 * fresh --user-data-dir) and one page. Requests beyond this machine are aborted and their URLs go
 * to `blocked`; console errors and page errors go to `consoleErrors`.
 */
export async function openOfflinePage(
  profileDir: string,
  opts: { viewport?: { width: number; height: number }; blocked?: string[]; consoleErrors: string[] },
): Promise<{ context: BrowserContext; page: Page }> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup (installs Debian's chromium)`);
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    ...(opts.viewport !== undefined ? { viewport: opts.viewport } : {}),
  });
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
    opts.blocked?.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') opts.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => opts.consoleErrors.push(e.message));
  return { context, page };
}
