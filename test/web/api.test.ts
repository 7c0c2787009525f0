import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { exportSmallModel, faceImage, multipart, startServer } from './helpers.js';

let dir: string;
let model: Uint8Array;
let server: { app: FastifyInstance; url: string };
let face: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msccnet-web-api-'));
  model = (await exportSmallModel(dir)).bytes;
  face = await readFile(faceImage());
  server = await startServer(model, { maxBytes: 256 * 1024, maxPixels: 1e6 });
});
after(async () => {
  await server.app.close();
  await rm(dir, { recursive: true, force: true });
});

const post = (body: { payload: Buffer; headers: Record<string, string> }, query = '') =>
  server.app.inject({ method: 'POST', url: `/api/detect${query}`, ...body });

test('a face image → 200 with score, label, face boxes and PNG data URLs of the input size', async () => {
  const compact = await post(multipart(face, 'face.png', 'image/png'));
  assert.deepEqual(Object.keys(compact.json().images), ['mask'], 'the default answer holds the mask alone');
  const res = await post(multipart(face, 'face.png', 'image/png'), '?images=all');
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.ok, true);
  assert.ok(body.score >= 0 && body.score <= 1);
  assert.equal(body.label, body.score > 0.5 ? 'fake' : 'real');
  assert.equal(body.faces.length, 1);
  assert.ok(body.faces[0].detectorScore > 0.5);
  for (const key of ['mask', 'heatmap', 'overlay'] as const) {
    const url: string = body.images[key];
    assert.match(url, /^data:image\/png;base64,/);
    const meta = await sharp(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')).metadata();
    assert.deepEqual([meta.width, meta.height], [144, 144], key);
  }
  const info = (await server.app.inject({ url: '/api/info' })).json();
  assert.equal(info.inputSide, 128);
  const m = await server.app.inject({ url: '/api/model' });
  assert.equal(m.rawPayload.length, model.length);
  assert.equal((await server.app.inject({ url: '/api/model', headers: { 'if-none-match': m.headers.etag as string } })).statusCode, 304);
});

test('an upload over the size limit → 413', async () => {
  const res = await post(multipart(Buffer.alloc(300 * 1024, 7), 'big.png', 'image/png'));
  assert.equal(res.statusCode, 413, res.body);
  assert.equal(res.json().error.code, 'MSCCNET_TOO_LARGE');
});

test('an image over the pixel limit → 413 before it is decoded', async () => {
  const png = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  const res = await post(multipart(png, 'wide.png', 'image/png'));
  assert.equal(res.statusCode, 413, res.body);
  assert.equal(res.json().error.code, 'MSCCNET_TOO_MANY_PIXELS');
});

test('a text file named .png and declared image/png → 415', async () => {
  const res = await post(multipart(Buffer.from('just some notes, not a picture\n'), 'notes.png', 'image/png'));
  assert.equal(res.statusCode, 415, res.body);
  assert.equal(res.json().error.code, 'MSCCNET_MEDIA_TYPE');
  assert.equal((await server.app.inject({ method: 'POST', url: '/api/detect', payload: 'x', headers: { 'content-type': 'text/plain' } })).statusCode, 415);
});

test('a truncated JPEG → 422 with a message', async () => {
  const jpeg = await sharp(face).jpeg({ quality: 90 }).toBuffer();
  const res = await post(multipart(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg', 'image/jpeg'));
  assert.equal(res.statusCode, 422, res.body);
  const { error } = res.json();
  assert.equal(error.code, 'MSCCNET_UNDECODABLE');
  assert.match(error.message, /truncated or corrupt/);
  assert.ok(error.hint.length > 0);
});

test('an image without a face → 422 naming the way out; ?face=false checks the whole image', async () => {
  const grey = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#777777' } })
    .png()
    .toBuffer();
  const res = await post(multipart(grey, 'grey.png'));
  assert.equal(res.statusCode, 422, res.body);
  assert.equal(res.json().error.code, 'MSCCNET_NO_FACE');
  const whole = await post(multipart(grey, 'grey.png'), '?face=false');
  assert.equal(whole.statusCode, 200, whole.body);
  assert.deepEqual(whole.json().faces[0].box, [0, 0, 160, 120]);
});

test('path-like file names have no effect on the filesystem', async () => {
  const tag = `msccnet-evil-${process.pid}-${Date.now()}`;
  const names = [`../../../../../tmp/${tag}-a.png`, `/tmp/${tag}-b.png`, `..\\..\\${tag}-c.png`, `${tag}-d.png`, `./x/../../${tag}-e.png`];
  const cwdBefore = (await readdir('.')).sort();
  const tmpBefore = (await readdir(tmpdir())).filter((f) => f.startsWith('msccnet-evil')).sort();
  for (const name of names) {
    const res = await post(multipart(face, name, 'image/png'), '?face=false');
    assert.equal(res.statusCode, 200, `${name}: ${res.body}`);
    assert.ok(!JSON.stringify(res.json()).includes(tag), 'the name is not echoed');
  }
  assert.deepEqual((await readdir('.')).sort(), cwdBefore);
  assert.deepEqual((await readdir(tmpdir())).filter((f) => f.startsWith('msccnet-evil')).sort(), tmpBefore);
  for (const p of [`/tmp/${tag}-a.png`, `/tmp/${tag}-b.png`, join('..', `${tag}-c.png`), `${tag}-d.png`]) assert.ok(!existsSync(p), p);
});

test('a request that outlives its time limit → 503 MSCCNET_TIMEOUT', async () => {
  const slow = await startServer(model, { timeoutSeconds: 0.001 });
  try {
    const res = await slow.app.inject({ method: 'POST', url: '/api/detect?face=false', ...multipart(face, 'face.png') });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'MSCCNET_TIMEOUT');
  } finally {
    await slow.app.close();
  }
});

test('50 concurrent requests over HTTP: each answered 200 or 503, none lost, memory bounded', async () => {
  const busy = await startServer(model, { concurrency: 1, maxWaiting: 8, maxPerClient: 64 }); // 50 clients share one loopback address here
  try {
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const form = new FormData();
        form.append('image', new Blob([face], { type: 'image/png' }), 'face.png');
        const res = await fetch(`${busy.url}/api/detect?face=false`, { method: 'POST', body: form });
        const body = (await res.json()) as { ok: boolean; score?: number; error?: { code: string } };
        if (res.status === 200) assert.ok(body.ok && typeof body.score === 'number');
        else assert.equal(body.error?.code, 'MSCCNET_BUSY');
        return res.status;
      }),
    );
    clearInterval(sampler);
    const ok = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 503).length;
    const mib = (b: number) => Math.round(b / 2 ** 20);
    console.log(
      `# 50 concurrent: ${ok} × 200, ${refused} × 503 in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `server process RSS ${mib(rss0)} MiB before, peak ${mib(peak)} MiB (+${mib(peak - rss0)} MiB)`,
    );
    assert.equal(ok + refused, 50, `unexpected statuses: ${statuses.filter((s) => s !== 200 && s !== 503)}`);
    assert.ok(ok >= 9, 'the running one and the 8 waiting ones are answered');
    assert.ok(peak - rss0 < 512 * 2 ** 20, 'memory stays bounded under the burst');
    const again = await fetch(`${busy.url}/api/detect?face=false`, {
      method: 'POST',
      body: (() => {
        const f = new FormData();
        f.append('image', new Blob([face]), 'a.png');
        return f;
      })(),
    });
    assert.equal(again.status, 200, 'the queue is free again afterwards');
  } finally {
    await busy.app.close();
  }
});
