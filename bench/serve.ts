/**
 * Server under load (issue 19): `msccnet serve`'s app on a loopback port with `slow` clients that
 * send their headers and 100 bytes of a 200 kB upload and then nothing, plus `valid` concurrent
 * clients posting a face crop (?face=false). Every client binds its own 127.x address (all of
 * 127/8 is loopback on Linux), so the per-client limit applies as it would to distinct hosts.
 * Prints one JSON line: 200/503/other counts, p50/p95 latency of the valid requests, peak RSS of
 * this process (server and clients). Figures, not assertions.
 *
 *   npm run bench:serve -- [valid=50] [slow=20] [side=128] [concurrency=1] [queue=16]
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildMsccnet } from '../src/models/msccnet/index.js';
import { applyDetfill } from '../src/models/detfill.js';
import { exportMsccnet } from '../src/onnx/index.js';
import { createOrtEngine } from '../src/infer/engines.js';
import { loadFaceDetector } from '../src/data/faces.js';
import { buildServer } from '../src/web/index.js';
import { fixtureDir } from '../test/helpers/fixtures.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const valid = Number(args.valid ?? 50);
const slowCount = Number(args.slow ?? 20);
const side = Number(args.side ?? 128);
const concurrency = Number(args.concurrency ?? 1);
const queue = Number(args.queue ?? 16);

// The tests' small MSCCNet (ResNet-18, C = 64) with detfill weights: the scores mean nothing, the timing does.
const model = buildMsccnet('msccnet', { inputSize: side, backboneDepth: 18, featsChannels: 64, dct: 'paper' }).eval();
applyDetfill(model);
const { bytes } = exportMsccnet(model, { metadata: { variant: 'msccnet', weights: 'detfill-v1' } });
model.dispose();
const engine = await createOrtEngine(bytes, 'bench.onnx', { threads: 2 });
const app = await buildServer({ engine, modelBytes: bytes, faceDetector: () => loadFaceDetector(), limits: { concurrency, maxWaiting: queue } });
const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
const face = await readFile(join(fixtureDir('annotation-pairs'), 'p01_astronaut_sbi_real.png'));

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);

function form(file: Buffer): { payload: Buffer; type: string } {
  const boundary = `----bench${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="face.png"\r\nContent-Type: image/png\r\n\r\n`;
  return { payload: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

async function slowClient(localAddress: string): Promise<Socket> {
  const body = form(Buffer.alloc(200_000, 1));
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress });
  socket.on('error', () => undefined);
  await new Promise<void>((res) => socket.once('connect', res));
  socket.write(`POST /api/detect?face=false HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: ${body.type}\r\ncontent-length: ${body.payload.length}\r\n\r\n`);
  socket.write(body.payload.subarray(0, 100));
  return socket;
}

function validClient(localAddress: string): Promise<{ status: number; ms: number }> {
  const body = form(face);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/api/detect?face=false',
        method: 'POST',
        localAddress,
        headers: { 'content-type': body.type, 'content-length': body.payload.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(body.payload);
  });
}

const slow = await Promise.all(Array.from({ length: slowCount }, (_, i) => slowClient(`127.0.2.${1 + i}`)));
await new Promise((r) => setTimeout(r, 200));
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: valid }, (_, i) => validClient(`127.0.1.${1 + i}`)));
const seconds = (performance.now() - t0) / 1000;
const slowStillOpen = slow.filter((s) => !s.destroyed).length;
clearInterval(sampler);
for (const s of slow) s.destroy();
await app.close();
await engine.release();

const ok = results
  .filter((r) => r.status === 200)
  .map((r) => r.ms)
  .sort((a, b) => a - b);
const quantile = (q: number): number | null => (ok.length === 0 ? null : Math.round(ok[Math.min(ok.length - 1, Math.floor(q * ok.length))]));
console.log(
  JSON.stringify({
    bench: 'serve',
    valid,
    slow: slowCount,
    slowStillOpen,
    side,
    concurrency,
    queue,
    status200: ok.length,
    status503: results.filter((r) => r.status === 503).length,
    other: results.filter((r) => r.status !== 200 && r.status !== 503).map((r) => r.status),
    p50ms: quantile(0.5),
    p95ms: quantile(0.95),
    seconds: Number(seconds.toFixed(2)),
    peakRssMiB: Math.round(peak / 2 ** 20),
  }),
);
