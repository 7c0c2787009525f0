import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { torch } from '../../src/torch/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { exportMethod } from '../../src/onnx/index.js';
import { PAGE_DIR } from '../../src/web/index.js';
import { openOfflinePage, startServer } from './helpers.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { smallCatnet } from '../helpers/catnet-small.js';

// The page runs CAT-Net in the browser: the JPEG reader reads the file's coefficients before the
// ONNX session, as detect and the server do (test/infer/catnet-bytes.test.ts: detect = serve = evaluate).
const JPEG = join(fixtureDir('baseline-parity'), 'catnet', 'jpeg', 'chelsea_420_q75.jpg');
const SMALL = smallCatnet(64);

let dir: string;
let server: { app: FastifyInstance; url: string };
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];

before(async () => {
  assert.ok(existsSync(join(PAGE_DIR, 'main.js')), `the page bundle is missing in ${PAGE_DIR}: run npm run build:web`);
  dir = await mkdtemp(join(tmpdir(), 'msccnet-web-catnet-'));
  const model = buildMethod('catnet', SMALL).eval();
  // fan-in scaled random convolutions, BN near identity: a mask that varies over the image
  torch.manualSeed(4);
  torch.noGrad(() => {
    for (const [k, t] of model.stateDict()) {
      if (t.dtype !== 'float32') continue;
      if (t.ndim === 4) t.uniform_(-1, 1).mul_(Math.sqrt(3 / (t.shape[1] * t.shape[2] * t.shape[3])));
      else if (k.endsWith('running_var') || k.endsWith('.weight')) t.uniform_(0.8, 1.2);
      else t.uniform_(-0.1, 0.1);
    }
  });
  const { bytes } = exportMethod(model);
  model.dispose();
  server = await startServer(bytes);
  ({ context, page } = await openOfflinePage(join(dir, 'profile'), { consoleErrors }));
});
after(async () => {
  await context?.close();
  await server?.app.close();
  await rm(dir, { recursive: true, force: true });
});

/** The mask PNG's first channel. */
const maskPixels = async (png: Buffer): Promise<Uint8Array> => new Uint8Array(await sharp(png).extractChannel(0).raw().toBuffer());

test('catnet: the same JPEG gives the same score and mask in the browser (its own coefficients) as the server', async () => {
  const form = new FormData();
  form.append('image', new Blob([await readFile(JPEG)]), 'chelsea.jpg');
  const res = await fetch(`${server.url}/api/detect?face=false&images=mask`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  const api = (await res.json()) as { score: number; images: { mask: string } };
  const apiMask = await maskPixels(Buffer.from(api.images.mask.split(',')[1], 'base64'));

  await page.goto(server.url);
  await page.uncheck('#face');
  await page.check('input[name="where"][value="browser"]');
  await page.setInputFiles('#file', JPEG);
  await page.waitForSelector('#result[data-state="done"][data-where="browser"]', { timeout: 180_000 });
  const score = Number(await page.getAttribute('#score', 'data-score'));
  const png = await page.evaluate<string>(`fetch(document.getElementById('download-mask').href)
    .then((r) => r.arrayBuffer())
    .then((b) => { let s = ''; for (const v of new Uint8Array(b)) s += String.fromCharCode(v); return btoa(s); })`);
  const mask = await maskPixels(Buffer.from(png, 'base64'));
  const area = (m: Uint8Array) => m.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);
  const differing = mask.reduce((n, v, i) => n + (v !== apiMask[i] ? 1 : 0), 0);
  console.log(`# catnet: api ${api.score}, page/browser ${score}; mask ${area(mask)} px fake, ${differing} px differ`);
  assert.ok(Math.abs(score - api.score) < 1e-4, `page (browser) ${score} vs api ${api.score}`);
  assert.ok(area(apiMask) > 0 && area(apiMask) < apiMask.length, 'the mask is neither empty nor full');
  assert.equal(differing, 0);
  assert.deepEqual(consoleErrors, []);
});
