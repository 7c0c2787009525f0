/**
 * What a client can hold of `serve` besides its requests (issue 31, items 4–5): silent and idle
 * connections, the connection cap, unread answers; and the forms a refusal and an answer take.
 * Real sockets on loopback; distinct clients bind distinct 127.0.0.x addresses.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, get, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { faceImage, multipart, stubEngine, stubServer } from './helpers.js';
import type { DetectResponse } from '../../src/web/index.js';
import { trustProxy as trustProxyArg } from '../../src/cli/args.js';

let face: Buffer;
before(async () => {
  face = await readFile(faceImage());
});

/** An open TCP connection from `localAddress` that sends nothing, with when it was closed by the server. */
async function silentConnection(url: URL, localAddress: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
  await new Promise<void>((r) => socket.once('connect', r));
  return { socket, closed };
}

/** A slow upload from `localAddress`: headers (plus `extra`) and the first 100 bytes of its body, then nothing. */
async function heldUpload(url: URL, localAddress: string, extra = ''): Promise<Socket> {
  const body = multipart(Buffer.alloc(200_000, 1), 'slow.png', 'image/png');
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress });
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', r));
  socket.write(
    `POST /api/detect?face=false HTTP/1.1\r\nhost: ${url.host}\r\n${extra}content-type: ${body.headers['content-type']}\r\ncontent-length: ${body.payload.length}\r\n\r\n`,
  );
  socket.write(body.payload.subarray(0, 100));
  await new Promise((r) => setTimeout(r, 100)); // its handler has counted it
  return socket;
}

function getInfo(url: URL, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: url.hostname, port: url.port, path: '/api/info', localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('/api/info: no answer within 5 s')));
  });
}

test('200 silent connections are closed within the header timeout', { timeout: 30_000 }, async () => {
  const headerSeconds = 0.5;
  const server = await stubServer(stubEngine(0), { headerSeconds });
  try {
    const t0 = performance.now();
    const conns = await Promise.all(Array.from({ length: 200 }, (_, i) => silentConnection(server.url, `127.0.1.${1 + (i % 50)}`)));
    const closedAt = await Promise.all(conns.map((c) => c.closed));
    const slowest = Math.max(...closedAt) - t0;
    assert.ok(slowest < headerSeconds * 1000 + 1500, `the last one closed after ${Math.round(slowest)} ms`);
    assert.ok(Math.min(...closedAt) - t0 >= headerSeconds * 1000 - 50, 'not before the timeout');
  } finally {
    await server.app.close();
  }
});

test('a kept-alive connection is closed once idle for the header timeout; one in the middle of its request is not', { timeout: 30_000 }, async () => {
  const server = await stubServer(stubEngine(0), { headerSeconds: 0.5, uploadSeconds: 5 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = get({ host: server.url.hostname, port: server.url.port, path: '/api/info', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(req.socket!));
      });
      req.on('error', reject);
    });
    const t0 = performance.now();
    await new Promise((r) => socket.once('close', r));
    assert.ok(performance.now() - t0 < 2000, 'the idle kept-alive socket was closed');
    // an upload slower than headerSeconds but within uploadSeconds is a request in progress: it gets its answer
    const body = multipart(face, 'face.png', 'image/png');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: server.url.hostname,
          port: server.url.port,
          path: '/api/detect?face=false',
          method: 'POST',
          headers: { ...body.headers, 'content-length': body.payload.length },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(body.payload.subarray(0, 10));
      setTimeout(() => req.end(body.payload.subarray(10)), 1200);
    });
    assert.equal(status, 200);
  } finally {
    agent.destroy();
    await server.app.close();
  }
});

test('60 idle connections against a cap of 50: the oldest idle ones are evicted, /api/info still answers', { timeout: 30_000 }, async () => {
  const server = await stubServer(stubEngine(0), { headerSeconds: 60, maxConnections: 50 });
  try {
    const conns = [];
    for (let i = 0; i < 60; i++) conns.push(await silentConnection(server.url, `127.0.2.${1 + (i % 20)}`));
    await new Promise((r) => setTimeout(r, 200));
    const closed = conns.map((c) => c.socket.destroyed || c.socket.readyState === 'closed');
    assert.equal(closed.filter(Boolean).length, 10, 'ten closed: the server holds 50');
    assert.deepEqual(closed.slice(0, 10), Array(10).fill(true), 'the oldest ones went first');
    assert.equal(await getInfo(server.url, '127.0.2.200'), 200);
    for (const c of conns) c.socket.destroy();
  } finally {
    await server.app.close();
  }
});

test('--trust-proxy: per-client limits count the forwarded address; without it, every peer is one client', { timeout: 30_000 }, async () => {
  const post = async (url: URL, forwardedFor: string): Promise<number> => {
    const body = multipart(face, 'face.png', 'image/png');
    const res = await fetch(new URL('/api/detect?face=false', url), {
      method: 'POST',
      body: body.payload,
      headers: { ...body.headers, 'x-forwarded-for': forwardedFor },
    });
    await res.arrayBuffer();
    return res.status;
  };
  const trusting = await stubServer(stubEngine(0), { maxPerClient: 1 }, { trustProxy: ['127.0.0.1'] });
  const plain = await stubServer(stubEngine(0), { maxPerClient: 1 });
  const held: Socket[] = [];
  try {
    for (const s of [trusting, plain]) held.push(await heldUpload(s.url, '127.0.0.1', 'x-forwarded-for: 203.0.113.1\r\n'));
    assert.equal(await post(trusting.url, '203.0.113.2'), 200, 'another user behind the proxy is served');
    assert.equal(await post(trusting.url, '203.0.113.1'), 429, 'the same user is still limited');
    assert.equal(await post(plain.url, '203.0.113.2'), 429, 'untrusted: the header is ignored');
  } finally {
    for (const s of held) s.destroy();
    await trusting.app.close();
    await plain.app.close();
  }
  assert.throws(() => trustProxyArg('10.0.0.1,nonsense'), /nonsense/);
  assert.deepEqual(trustProxyArg('10.0.0.1, 10.1.0.0/16,loopback'), ['10.0.0.1', '10.1.0.0/16', 'loopback']);
  assert.equal(trustProxyArg('2'), 2);
});

test(
  'a refused upload gets its 429 in a form the client reads: Node fetch (body drained) and curl (Expect: 100-continue, and without)',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-429-'));
    const server = await stubServer(stubEngine(0), { maxPerClient: 1 });
    const held = await heldUpload(server.url, '127.0.0.1');
    try {
      const big = Buffer.concat([face, Buffer.alloc(8 * 2 ** 20, 7)]); // 8 MiB: far more than the socket buffers take
      const body = multipart(big, 'big.png', 'image/png');
      const res = await fetch(new URL('/api/detect?face=false', server.url), { method: 'POST', body: body.payload, headers: body.headers });
      assert.equal(res.status, 429);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'MSCCNET_TOO_MANY_REQUESTS');

      const file = join(dir, 'big.png');
      await writeFile(file, big);
      const curl = async (...extra: string[]): Promise<{ stdout: string; stderr: string }> =>
        promisify(execFile)('curl', [
          '-sS',
          '--interface',
          '127.0.0.1',
          '-w',
          '\n%{http_code}',
          ...extra,
          '-F',
          `image=@${file}`,
          `${server.url.origin}/api/detect?face=false`,
        ]);
      const withExpect = await curl('-v');
      assert.match(withExpect.stderr, /> Expect: 100-continue/i, 'curl asked before sending its body');
      assert.doesNotMatch(withExpect.stderr, /< HTTP\/1\.1 100 Continue/, 'and was refused before it');
      assert.match(withExpect.stdout, /MSCCNET_TOO_MANY_REQUESTS[\s\S]*\n429$/);
      const without = await curl('-H', 'Expect:');
      assert.match(without.stdout, /MSCCNET_TOO_MANY_REQUESTS[\s\S]*\n429$/);
    } finally {
      held.destroy();
      await server.app.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('compact answers: images=mask (the default) is the mask alone, one 1-channel PNG at the image size; Accept: multipart/form-data sends binary PNG parts', async () => {
  const server = await stubServer(stubEngine(0.3));
  try {
    const send = async (query: string, accept?: string): Promise<Response> => {
      const body = multipart(face, 'face.png', 'image/png');
      return fetch(new URL(`/api/detect?face=false&${query}`, server.url), {
        method: 'POST',
        body: body.payload,
        headers: { ...body.headers, ...(accept && { accept }) },
      });
    };
    const full = (await (await send('images=all')).json()) as DetectResponse;
    assert.deepEqual(Object.keys(full.images).sort(), ['heatmap', 'mask', 'overlay']);
    const compact = (await (await send('images=mask')).json()) as DetectResponse;
    assert.deepEqual(Object.keys(compact.images), ['mask']);
    assert.equal(compact.score, full.score);
    const maskPng = Buffer.from(compact.images.mask.replace(/^data:image\/png;base64,/, ''), 'base64');
    const { width, height } = await sharp(face).metadata();
    assert.deepEqual(
      await sharp(maskPng)
        .metadata()
        .then((m) => [m.width, m.height, m.channels]),
      [width, height, 1],
    );

    const binary = await send('images=mask-overlay', 'multipart/form-data');
    assert.match(binary.headers.get('content-type') ?? '', /^multipart\/form-data; boundary=/);
    const form = await binary.formData();
    const analysis = JSON.parse(form.get('analysis') as string) as Omit<DetectResponse, 'images'>; // a part without a file name is text
    assert.equal(analysis.score, full.score);
    assert.deepEqual(analysis.faces, full.faces);
    const mask = Buffer.from(await (form.get('mask') as Blob).arrayBuffer());
    assert.ok(mask.equals(maskPng), 'the same PNG, in binary');
    assert.ok(form.get('overlay') instanceof Blob);
    assert.equal(form.get('heatmap'), null);
  } finally {
    await server.app.close();
  }
});

test(
  'a client that does not read its large answer: further checks get 503 while it is held, its connection is closed after sendSeconds',
  { timeout: 60_000 },
  async () => {
    const server = await stubServer(stubEngine(0), { maxAnswerBytes: 2 ** 20, sendSeconds: 1.5 });
    try {
      // 2560² of noise: a 24 MB answer (overlay and heat map PNGs in base64), more than the loopback's socket buffers hold (~10 MB)
      const noise = await sharp(randomBytes(2560 * 2560 * 3), {
        raw: { width: 2560, height: 2560, channels: 3 },
      })
        .png({ compressionLevel: 1 })
        .toBuffer();
      const body = multipart(noise, 'noise.png', 'image/png');
      const reader = connect({ host: server.url.hostname, port: Number(server.url.port), localAddress: '127.0.3.1' });
      reader.on('error', () => undefined);
      const readerClosed = new Promise<void>((r) => reader.once('close', () => r()));
      await new Promise<void>((r) => reader.once('connect', r));
      reader.write(
        `POST /api/detect?face=false&images=all HTTP/1.1\r\nhost: x\r\ncontent-type: ${body.headers['content-type']}\r\ncontent-length: ${body.payload.length}\r\n\r\n`,
      );
      reader.write(body.payload);
      let got = 0;
      let length = 0;
      const onData = (d: Buffer): void => {
        if (got === 0) {
          length = Number(/content-length: (\d+)/i.exec(d.toString('latin1'))?.[1]);
          reader.pause(); // reads the first chunk, then nothing until resumed
        }
        got += d.length;
      };
      reader.on('data', onData);
      while (got === 0) await new Promise((r) => setTimeout(r, 50));
      const small = multipart(face, 'face.png', 'image/png');
      const check = () => fetch(new URL('/api/detect?face=false', server.url), { method: 'POST', body: small.payload, headers: small.headers });
      const busy = await check();
      assert.equal(busy.status, 503);
      assert.equal(((await busy.json()) as { error: { code: string } }).error.code, 'MSCCNET_BUSY');
      await new Promise((r) => setTimeout(r, 2000)); // past sendSeconds
      const after = await check();
      assert.equal(after.status, 200, 'the unread answer was dropped and its bytes given back');
      reader.resume(); // what the kernel still held arrives, then the end: the answer was cut off
      await readerClosed;
      assert.ok(length > 20e6 && got < length, `read ${got} of ${length} bytes`);
    } finally {
      await server.app.close();
    }
  },
);

test(
  'six clients that read nothing of the default answer for a 2560² noise image hold almost nothing: a seventh check is answered',
  { timeout: 120_000 },
  async () => {
    // the budget the old default answer (24 MB: heat map and overlay in base64) would fill at once
    const server = await stubServer(stubEngine(0), { maxAnswerBytes: 2 ** 20, sendSeconds: 60 });
    const readers: Socket[] = [];
    try {
      const noise = await sharp(randomBytes(2560 * 2560 * 3), { raw: { width: 2560, height: 2560, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toBuffer();
      const body = multipart(noise, 'noise.png', 'image/png');
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const reader = connect({ host: server.url.hostname, port: Number(server.url.port), localAddress: `127.0.6.${i + 1}` });
        reader.on('error', () => undefined);
        readers.push(reader);
        await new Promise<void>((r) => reader.once('connect', r));
        reader.write(
          `POST /api/detect?face=false HTTP/1.1\r\nhost: x\r\ncontent-type: ${body.headers['content-type']}\r\ncontent-length: ${body.payload.length}\r\n\r\n`,
        );
        reader.write(body.payload);
        await new Promise<void>((r) =>
          reader.once('data', (d: Buffer) => {
            statuses.push(Number(/^HTTP\/1\.1 (\d+)/.exec(d.toString('latin1'))?.[1]));
            reader.pause(); // reads its first chunk, then nothing
            r();
          }),
        );
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      const small = multipart(face, 'face.png', 'image/png');
      const seventh = await fetch(new URL('/api/detect?face=false', server.url), { method: 'POST', body: small.payload, headers: small.headers });
      assert.equal(seventh.status, 200);
    } finally {
      for (const r of readers) r.destroy();
      await server.app.close();
    }
  },
);

test(
  'close() (serve on SIGTERM) answers the request in flight, closes idle connections at once and ends without waiting for keep-alive',
  { timeout: 30_000 },
  async () => {
    let open!: () => void;
    const engine = stubEngine(0, new Promise<void>((r) => (open = r)));
    const server = await stubServer(engine, { headerSeconds: 20 });
    const silent = await silentConnection(server.url, '127.0.4.1');
    const body = multipart(face, 'face.png', 'image/png');
    const inflight = fetch(new URL('/api/detect?face=false', server.url), { method: 'POST', body: body.payload, headers: body.headers });
    while (engine.runs === 0) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    const closed = server.app.close().then(() => performance.now() - t0);
    assert.ok((await silent.closed) - t0 < 1000, 'the silent connection went at once');
    setTimeout(open, 300);
    const res = await inflight;
    assert.equal(res.status, 200, 'the request in flight got its answer');
    await res.arrayBuffer();
    assert.ok((await closed) < 3000, 'close() did not wait for the kept-alive connection');
  },
);
