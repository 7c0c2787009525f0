/**
 * The server under hostile but realistic load (issue 19): slow and idle uploads, clients that go
 * away, malformed forms, a model that yields NaN. Every client is on loopback; distinct clients
 * bind distinct 127.0.0.x addresses (all of 127/8 is loopback on Linux), as distinct hosts would.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { WorkQueue, RequestAbortedError } from '../../src/web/index.js';
import { exportSmallModel, faceImage, multipart, startServer, stubEngine, stubServer } from './helpers.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let model: Uint8Array;
let face: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msccnet-web-hostile-'));
  model = (await exportSmallModel(dir)).bytes;
  face = await readFile(faceImage());
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** POST /api/detect from `localAddress`: status and JSON body. */
function postFrom(
  url: URL,
  body: { payload: Buffer; headers: Record<string, string> },
  localAddress = '127.0.0.1',
  query = '?face=false',
): Promise<{ status: number; json: { ok: boolean; error?: { code: string; message: string; hint: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `/api/detect${query}`,
        method: 'POST',
        localAddress,
        headers: { ...body.headers, 'content-length': body.payload.length },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body.payload);
  });
}

/**
 * A slow client: sends the headers and the first 100 bytes of a 200 kB upload, then nothing.
 * `answer` resolves with what the server sent back before it closed the connection.
 */
async function slowUpload(url: URL, localAddress: string): Promise<{ socket: Socket; answer: Promise<string> }> {
  const body = multipart(Buffer.alloc(200_000, 1), 'slow.png', 'image/png');
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress });
  await new Promise<void>((res, rej) => {
    socket.once('connect', res);
    socket.once('error', rej);
  });
  socket.on('error', () => undefined);
  let text = '';
  socket.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const answer = new Promise<string>((res) => socket.once('close', () => res(text)));
  socket.write(
    `POST /api/detect?face=false HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: ${body.headers['content-type']}\r\ncontent-length: ${body.payload.length}\r\n\r\n`,
  );
  socket.write(body.payload.subarray(0, 100));
  return { socket, answer };
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const expired = new Promise<never>((_, rej) => {
    setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms).unref();
  });
  return Promise.race([p, expired]);
}

test('defect 1: a real client is served while 20 slow uploads are held open', { timeout: 60_000 }, async () => {
  const server = await startServer(model, {});
  const slow: Awaited<ReturnType<typeof slowUpload>>[] = [];
  try {
    for (let i = 0; i < 20; i++) slow.push(await slowUpload(new URL(server.url), `127.0.0.${11 + i}`));
    await new Promise((r) => setTimeout(r, 300)); // every slow request reached its handler
    const t0 = performance.now();
    const res = await timeout(postFrom(new URL(server.url), multipart(face, 'face.png', 'image/png')), 30_000, 'the real client');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.ok, true);
    assert.ok(
      slow.every((s) => !s.socket.destroyed),
      'the slow uploads are still held open',
    );
    console.log(`# real client answered in ${Math.round(performance.now() - t0)} ms beside 20 held uploads`);
  } finally {
    for (const s of slow) s.socket.destroy();
    await server.app.close();
  }
});

test('defect 1: an upload that does not arrive within uploadSeconds → 408 and the connection closes', { timeout: 20_000 }, async () => {
  const server = await stubServer(stubEngine(0), { uploadSeconds: 0.5 });
  try {
    const t0 = performance.now();
    const { answer } = await slowUpload(server.url, '127.0.0.2');
    const text = await timeout(answer, 5_000, 'the slow upload');
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.match(text, /MSCCNET_UPLOAD_TIMEOUT/);
    assert.ok(performance.now() - t0 < 4_000);
  } finally {
    await server.app.close();
  }
});

test('defect 1: one client holds at most maxPerClient requests; another client is served meanwhile', { timeout: 20_000 }, async () => {
  const server = await stubServer(stubEngine(0), { maxPerClient: 2 });
  const slow = [await slowUpload(server.url, '127.0.0.5'), await slowUpload(server.url, '127.0.0.5')];
  try {
    await new Promise((r) => setTimeout(r, 200));
    const third = await timeout(postFrom(server.url, multipart(face, 'face.png'), '127.0.0.5'), 5_000, 'third');
    assert.equal(third.status, 429);
    assert.equal(third.json.error?.code, 'MSCCNET_TOO_MANY_REQUESTS');
    const other = await timeout(postFrom(server.url, multipart(face, 'face.png'), '127.0.0.6'), 5_000, 'other client');
    assert.equal(other.status, 200, JSON.stringify(other.json));
  } finally {
    for (const s of slow) s.socket.destroy();
    await server.app.close();
  }
});

test('defect 1: a request whose client went away leaves the queue before inference', { timeout: 20_000 }, async () => {
  let open!: () => void;
  const engine = stubEngine(
    0,
    new Promise<void>((r) => {
      open = r;
    }),
  );
  const server = await stubServer(engine);
  try {
    const first = postFrom(server.url, multipart(face, 'a.png'), '127.0.0.7');
    while (engine.runs === 0) await new Promise((r) => setTimeout(r, 20)); // the first one holds the worker
    const body = multipart(face, 'b.png');
    const quitter = request({
      host: server.url.hostname,
      port: server.url.port,
      path: '/api/detect?face=false',
      method: 'POST',
      localAddress: '127.0.0.8',
      headers: { ...body.headers, 'content-length': body.payload.length },
    });
    quitter.on('error', () => undefined);
    quitter.end(body.payload);
    await new Promise((r) => setTimeout(r, 300)); // its upload is complete and it waits in the queue
    quitter.destroy();
    await new Promise((r) => setTimeout(r, 100));
    open();
    assert.equal((await first).status, 200);
    const next = await postFrom(server.url, multipart(face, 'c.png'), '127.0.0.9');
    assert.equal(next.status, 200);
    assert.equal(engine.runs, 2, 'the abandoned request was never computed');
  } finally {
    await server.app.close();
  }
});

test('WorkQueue: an aborted waiting task never runs and gives its place back', async () => {
  const queue = new WorkQueue(1, 4);
  let release!: () => void;
  const running = queue.run(
    () =>
      new Promise<string>((r) => {
        release = () => r('first');
      }),
    Date.now() + 10_000,
  );
  const abort = new AbortController();
  let ran = false;
  const waiting = queue.run(
    async () => {
      ran = true;
    },
    Date.now() + 10_000,
    abort.signal,
  );
  assert.equal(queue.held, 2);
  abort.abort();
  await assert.rejects(waiting, RequestAbortedError);
  assert.equal(queue.held, 1);
  release();
  assert.equal(await running, 'first');
  assert.equal(ran, false);
  assert.equal(queue.held, 0);
});

test('defect 6: malformed multipart bodies → 400; too many fields → 413 naming fields, not bytes', async () => {
  const server = await stubServer(stubEngine(0));
  try {
    const post = (payload: string | Buffer, contentType: string) =>
      server.app.inject({ method: 'POST', url: '/api/detect?face=false', payload, headers: { 'content-type': contentType } });
    const noBoundary = await post('garbage', 'multipart/form-data');
    assert.equal(noBoundary.statusCode, 400, noBoundary.body);
    assert.equal(noBoundary.json().error.code, 'MSCCNET_BAD_MULTIPART');
    const garbage = await post('\x00\x01 not a form at all \r\n--x\r\nbroken', 'multipart/form-data; boundary=x');
    assert.equal(garbage.statusCode, 400, garbage.body);
    const fields = Array.from({ length: 2000 }, (_, i) => `--b\r\ncontent-disposition: form-data; name="f${i}"\r\n\r\nv\r\n`).join('') + '--b--\r\n';
    const many = await post(fields, 'multipart/form-data; boundary=b');
    assert.equal(many.statusCode, 413, many.body);
    const { error } = many.json();
    assert.match(error.code, /MSCCNET_TOO_MANY_(FIELDS|PARTS)/);
    assert.doesNotMatch(error.message, /bytes/);
  } finally {
    await server.app.close();
  }
});

test('defect 6: a model that yields NaN → 500 MSCCNET_NON_FINITE, logged with its cause; one log line per request', async () => {
  const lines: string[] = [];
  const server = await stubServer(
    stubEngine(Number.NaN),
    {},
    {
      logger: {
        level: 'info',
        stream: {
          write: (l: string) => {
            lines.push(l);
          },
        },
      },
    },
  );
  try {
    const res = await server.app.inject({ method: 'POST', url: '/api/detect?face=false', ...multipart(face, 'face.png') });
    assert.equal(res.statusCode, 500, res.body);
    assert.equal(res.json().error.code, 'MSCCNET_NON_FINITE');
    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string; status?: number; ms?: number; cause?: string });
    const failure = records.find((r) => r.msg === 'request failed');
    assert.ok(failure && failure.level >= 50 && /non-finite/.test(failure.cause ?? ''), lines.join(''));
    const done = records.filter((r) => r.msg === 'request');
    assert.equal(done.length, 1);
    assert.equal(done[0].status, 500);
    assert.equal(typeof done[0].ms, 'number');
  } finally {
    await server.app.close();
  }
});

test('defect 8: API hints speak API terms (?face=false, not --no-face); serve --threshold 2 is refused', async () => {
  const server = await stubServer(stubEngine(0));
  try {
    const grey = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#777777' } })
      .png()
      .toBuffer();
    const res = await server.app.inject({ method: 'POST', url: '/api/detect', ...multipart(grey, 'grey.png') });
    assert.equal(res.statusCode, 422, res.body);
    assert.match(res.json().error.hint, /\?face=false/);
    assert.doesNotMatch(res.body, /--no-face|--max-side/);
  } finally {
    await server.app.close();
  }
  await assert.rejects(stubServer(stubEngine(0), {}, { threshold: 2 }), /threshold/);
  const cli = await runCli(['serve', '-m', join(dir, 'small.onnx'), '--threshold', '2', '--port', '1']);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /threshold/);
});

test('defect 8: a busy port → one line naming the port, no stack', { timeout: 60_000 }, async () => {
  const server = await stubServer(stubEngine(0));
  try {
    const cli = await runCli(['serve', '-m', join(dir, 'small.onnx'), '--port', server.url.port, '--quiet']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, new RegExp(`MSCCNET_IO.*port ${server.url.port}|port ${server.url.port}.*in use`));
    assert.doesNotMatch(cli.stderr, /\n\s+at /);
  } finally {
    await server.app.close();
  }
});
