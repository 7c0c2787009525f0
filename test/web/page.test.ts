import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { PAGE_DIR } from '../../src/web/index.js';
import { exportSmallModel, faceImage, openOfflinePage, startServer } from './helpers.js';

/** Screenshots land here (gitignored): the run's artifact, not committed. */
const ARTIFACTS = resolve('test-artifacts/web');

let dir: string;
let modelPath: string;
let server: { app: FastifyInstance; url: string };
let context: BrowserContext;
let page: Page;
const blocked: string[] = [];
const consoleErrors: string[] = [];

before(async () => {
  assert.ok(existsSync(join(PAGE_DIR, 'main.js')), `the page bundle is missing in ${PAGE_DIR}: run npm run build:web`);
  dir = await mkdtemp(join(tmpdir(), 'msccnet-web-page-'));
  const model = await exportSmallModel(dir);
  modelPath = model.path;
  server = await startServer(model.bytes);
  ({ context, page } = await openOfflinePage(join(dir, 'profile'), { viewport: { width: 1100, height: 900 }, blocked, consoleErrors }));
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => {
  await context?.close();
  await server?.app.close();
  await rm(dir, { recursive: true, force: true });
});

/** P(fake) of the image from `msccnet detect` (the CLI, in its own process). */
async function cliScore(image: string): Promise<number> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/cli/index.ts', 'detect', image, '--model', modelPath, '--threads', '1', '--format', 'json', '--out', join(dir, 'cli-out')],
    { maxBuffer: 1 << 24 },
  );
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { ok: boolean; score: number };
  assert.ok(result.ok, stdout);
  return result.score;
}

async function apiScore(image: string): Promise<number> {
  const form = new FormData();
  form.append('image', new Blob([await readFile(image)]), 'face.png');
  const res = await fetch(`${server.url}/api/detect`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  return ((await res.json()) as { score: number }).score;
}

/** Chooses the side, uploads the image, waits for the overlay, returns the score the page shows. */
async function pageScore(where: 'server' | 'browser', image: string): Promise<number> {
  await page.check(`input[name="where"][value="${where}"]`);
  await page.setInputFiles('#file', image);
  await page.waitForSelector(`#result[data-state="done"][data-where="${where}"]`, { timeout: 180_000 });
  const raw = await page.getAttribute('#score', 'data-score');
  assert.ok(raw !== null);
  return Number(raw);
}

test('the page shows the same score on the server and in the browser as the API and the CLI (to 1e-4)', async () => {
  const image = faceImage();
  await page.goto(server.url);
  assert.equal(await page.title(), 'msccnet — check a face image');
  const [cli, api] = [await cliScore(image), await apiScore(image)];
  const onServer = await pageScore('server', image);
  const inBrowser = await pageScore('browser', image);
  console.log(
    `# scores: cli ${cli}, api ${api}, page/server ${onServer}, page/browser ${inBrowser} (|browser − cli| = ${Math.abs(inBrowser - cli).toExponential(2)})`,
  );
  assert.ok(Math.abs(api - cli) < 1e-4, `api ${api} vs cli ${cli}`);
  assert.ok(Math.abs(onServer - api) < 1e-4, `page (server) ${onServer} vs api ${api}`);
  assert.ok(Math.abs(inBrowser - api) < 1e-4, `page (browser) ${inBrowser} vs api ${api}`);

  // the overlay is drawn, one face box is listed, the reading is in words, downloads are ready
  assert.equal(await page.locator('#faces li').count(), 1);
  assert.match((await page.textContent('#reading')) ?? '', /manipulat/);
  assert.match((await page.getAttribute('#download-mask', 'href')) ?? '', /^blob:/);
  // (page code as strings: the test program is typed for Node, without the DOM library)
  const heatPixels = await page.evaluate<number>(`(() => {
    const c = document.getElementById('heat');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let opaque = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) opaque++;
    return opaque;
  })()`);
  assert.ok(heatPixels > 0, 'the heat map is drawn inside the face box');
  const downloaded = await page.evaluate<{ engine: string; score: number }>(`fetch(document.getElementById('download-json').href).then((r) => r.json())`);
  assert.match(downloaded.engine, /^onnxruntime-web .*\((wasm|webgpu)\)$/);
  assert.equal(downloaded.score, inBrowser, 'the JSON download holds the score shown');
  // the model came once and is cached for the next visit
  assert.ok(
    await page.evaluate<boolean>(`caches.open('msccnet-model').then((c) => c.match(new URL('api/model', location.href).href)).then((r) => r !== undefined)`),
  );

  // keyboard: the opacity slider moves with the arrow keys
  await page.focus('#opacity');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.inputValue('#opacity'), '44');
  assert.equal(await page.evaluate<string>(`document.getElementById('heat').style.opacity`), '0.44');

  await page.screenshot({ path: join(ARTIFACTS, 'page-result.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'), 'no sideways scrolling on a phone-sized viewport');
  await page.screenshot({ path: join(ARTIFACTS, 'page-result-phone.png'), fullPage: true });
  console.log(`# screenshots: ${join(ARTIFACTS, 'page-result.png')}, page-result-phone.png`);
  assert.deepEqual(blocked, [], 'the page asked for nothing beyond localhost');
  assert.deepEqual(consoleErrors, []);
});

test('a file that is not an image shows an error message on the page', async () => {
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.check('input[name="where"][value="browser"]');
  await page.setInputFiles('#file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await page.waitForSelector('#result[data-state="error"]');
  assert.match((await page.textContent('#error')) ?? '', /cannot be read as an image/);
});
