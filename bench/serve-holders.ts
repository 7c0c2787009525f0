/**
 * What clients can hold of `serve` (issue 31, item 5), with the real server and real sockets on
 * loopback (every client binds its own 127.x address, as distinct hosts would):
 *
 * - `idle`: that many connections that never send a byte, then `GET /api/info` from another
 *   address: does it answer, how many connections does the server hold (its cap) and how many did
 *   it close. This process holds the client sockets too: keep idle + maxConnections below
 *   `ulimit -n`.
 * - `readers`: that many clients each posting a `side`² noise JPEG and then reading nothing of
 *   their (tens of MB) answer; RSS of this process before, at the peak, and after sendSeconds.
 *
 * A stub engine (fixed logits) stands in for the model: the answer's size and the server's
 * memory do not depend on the model. Prints one JSON line per part; figures, not assertions.
 *
 *   npx tsx bench/serve-holders.ts [idle=18000] [maxConnections=1000] [readers=6] [side=4096] [sendSeconds=20] [query=images=mask]
 */
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import sharp from 'sharp';
import { buildServer } from '../src/web/index.js';
import type { EngineOutput, InferenceEngine } from '../src/infer/index.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const idle = Number(args.idle ?? 18000);
const maxConnections = Number(args.maxConnections ?? 1000);
const readers = Number(args.readers ?? 6);
const side = Number(args.side ?? 4096);
const sendSeconds = Number(args.sendSeconds ?? 20);
/** e.g. `images=mask` for the compact answer */
const query = args.query ?? '';

const engine: InferenceEngine = {
  inputSide: 32,
  name: 'stub',
  async run(_input: Float32Array, batch: number): Promise<EngineOutput> {
    return { imageLogits: new Float32Array(batch * 2).fill(0.3), maskLogits: new Float32Array(batch * 2 * 16).fill(0.3), classes: 2, maskSide: 4 };
  },
  async release() {},
};
const app = await buildServer({
  engine,
  modelBytes: new Uint8Array(8),
  faceDetector: async () => ({ detect: async () => [] }),
  limits: { maxConnections, headerSeconds: 60, sendSeconds, maxPerClient: 8 },
});
const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
const address = (i: number): string => `127.${10 + Math.floor(i / 62500)}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;
const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
const info = (from: string): Promise<{ status: number; ms: number }> =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const req = get({ host: url.hostname, port: url.port, path: '/api/info', localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Math.round(performance.now() - t0) }));
    });
    req.on('error', () => resolve({ status: 0, ms: Math.round(performance.now() - t0) }));
    req.setTimeout(10_000, () => req.destroy());
  });

// 1. idle connections
{
  const sockets: Socket[] = [];
  let closedByServer = 0;
  let failed = 0;
  const t0 = performance.now();
  for (let i = 0; i < idle; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, idle - i) }, (_, k) => {
        const s = connect({ host: url.hostname, port: Number(url.port), localAddress: address(i + k) });
        sockets.push(s);
        s.resume(); // flowing, so a close by the server is seen
        s.once('close', () => closedByServer++);
        return new Promise<void>((r) => {
          s.once('connect', () => r());
          s.once('error', () => {
            failed++;
            r();
          });
        });
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 500));
  const answer = await info('127.9.9.9');
  console.log(
    JSON.stringify({
      bench: 'serve.idle-connections',
      attempted: idle,
      maxConnections,
      connectFailed: failed,
      closedByServer,
      stillOpen: sockets.filter((s) => !s.destroyed).length,
      infoStatus: answer.status,
      infoMs: answer.ms,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    }),
  );
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 1000));
}

// 2. slow readers of large answers
{
  const noise = await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  const boundary = 'benchboundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="noise.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`),
    noise,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const idleRss = process.memoryUsage().rss;
  let peak = idleRss;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const statuses: string[] = [];
  const held: Socket[] = [];
  const t0 = performance.now();
  for (let i = 0; i < readers; i++) {
    const s = connect({ host: url.hostname, port: Number(url.port), localAddress: `127.50.0.${1 + i}` });
    s.on('error', () => undefined);
    held.push(s);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(
      `POST /api/detect?face=false${query ? `&${query}` : ''} HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    s.write(body);
    await new Promise<void>((r) =>
      s.once('data', (d: Buffer) => {
        statuses.push(/^HTTP\/1\.1 (\d+)/.exec(d.toString('latin1'))?.[1] ?? '?');
        s.pause(); // reads its first chunk, then nothing
        r();
      }),
    );
  }
  const heldRss = process.memoryUsage().rss;
  const heldAt = performance.now();
  await new Promise((r) => setTimeout(r, sendSeconds * 1000 + 2000));
  global.gc?.();
  clearInterval(sample);
  console.log(
    JSON.stringify({
      bench: 'serve.slow-readers',
      side,
      query,
      jpegMiB: Math.round((noise.length / 2 ** 20) * 10) / 10,
      readers,
      statuses,
      idleRssMiB: mib(idleRss),
      heldRssMiB: mib(heldRss),
      peakRssMiB: mib(peak),
      afterSendTimeoutRssMiB: mib(process.memoryUsage().rss),
      secondsToServeAll: Math.round((heldAt - t0) / 100) / 10,
    }),
  );
  for (const s of held) s.destroy();
}
await app.close();
