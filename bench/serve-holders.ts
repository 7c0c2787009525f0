/**
 * What clients can hold of `serve` (issue 31, item 5), with the real server and real sockets on
 * loopback (every client binds its own 127.x address, as distinct hosts would):
 *
 * - `idle`: that many connections that never send a byte, then `GET /api/info` from another
 *   address: does it answer, how many connections does the server hold (its cap) and how many did
 *   it close. Child processes of 10,000 connections each hold the client sockets, so each needs
 *   `ulimit -n` above 10,000 and the server's process only above maxConnections.
 * - `readers`: that many clients each posting a `side`² noise JPEG and then reading nothing of
 *   their (tens of MB) answer; RSS of this process before, at the peak, and after sendSeconds.
 *
 * A stub engine (fixed logits) stands in for the model: the answer's size and the server's
 * memory do not depend on the model. Prints one JSON line per part; figures, not assertions.
 *
 *   npx tsx bench/serve-holders.ts [idle=20000] [maxConnections=1000] [readers=6] [side=4096] [sendSeconds=20] [afterSeconds=sendSeconds+2] [query=images=all]
 */
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { buildServer } from '../src/web/index.js';
import type { EngineOutput, InferenceEngine } from '../src/infer/index.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const idle = Number(args.idle ?? 20000);
const maxConnections = Number(args.maxConnections ?? 1000);
const readers = Number(args.readers ?? 6);
const side = Number(args.side ?? 4096);
const sendSeconds = Number(args.sendSeconds ?? 20);
/** how long to wait after the last reader got its first bytes before measuring again (default: past sendSeconds) */
const afterSeconds = Number(args.afterSeconds ?? sendSeconds + 2);
/** e.g. `images=mask` for the compact answer */
const query = args.query ?? '';

/** Idle connections one client process opens (each process has its own descriptor limit). */
const IDLE_PER_CLIENT = 10_000;
const address = (i: number): string => `127.${10 + Math.floor(i / 62500)}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;

if (process.argv[2] === '--idle-client') {
  const job = JSON.parse(process.argv[3]) as { port: number; first: number; count: number };
  const sockets: Socket[] = [];
  let closedByServer = 0;
  let failed = 0;
  let error: string | undefined;
  for (let i = 0; i < job.count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, job.count - i) }, (_, k) => {
        const s = connect({ host: '127.0.0.1', port: job.port, localAddress: address(job.first + i + k) });
        sockets.push(s);
        s.resume(); // flowing, so a close by the server is seen
        s.once('close', () => closedByServer++);
        return new Promise<void>((r) => {
          s.once('connect', () => r());
          s.once('error', (err: NodeJS.ErrnoException) => {
            failed++;
            error ??= err.code;
            r();
          });
        });
      }),
    );
  }
  process.send!({ failed, error });
  process.once('message', () => {
    process.send!({ closedByServer, stillOpen: sockets.filter((s) => !s.destroyed).length }, () => {
      for (const s of sockets) s.destroy();
      process.exit(0);
    });
  });
} else {
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

  // 1. idle connections, opened by child processes of at most 10,000 each: the server's process
  // then holds only its own descriptors (at most maxConnections), as against real remote clients
  {
    const t0 = performance.now();
    const clients = Math.ceil(idle / IDLE_PER_CLIENT);
    const children = Array.from({ length: clients }, (_, c) => {
      const count = Math.min(IDLE_PER_CLIENT, idle - c * IDLE_PER_CLIENT);
      return fork(fileURLToPath(import.meta.url), ['--idle-client', JSON.stringify({ port: Number(url.port), first: c * IDLE_PER_CLIENT, count })], {
        execArgv: process.execArgv,
      });
    });
    const reply = <T>(child: ChildProcess): Promise<T> => new Promise((r) => child.once('message', (m) => r(m as T)));
    const opened = await Promise.all(children.map((c) => reply<{ failed: number; error?: string }>(c)));
    await new Promise((r) => setTimeout(r, 500));
    const answer = await info('127.9.9.9');
    const reports = await Promise.all(
      children.map((c) => {
        const r = reply<{ closedByServer: number; stillOpen: number }>(c);
        c.send('report');
        return r;
      }),
    );
    const sum = (k: 'closedByServer' | 'stillOpen'): number => reports.reduce((n, r) => n + r[k], 0);
    console.log(
      JSON.stringify({
        bench: 'serve.idle-connections',
        attempted: idle,
        clientProcesses: clients,
        maxConnections,
        connectFailed: opened.reduce((n, o) => n + o.failed, 0),
        connectErrors: [...new Set(opened.map((o) => o.error).filter(Boolean))],
        closedByServer: sum('closedByServer'),
        stillOpen: sum('stillOpen'),
        infoStatus: answer.status,
        infoMs: answer.ms,
        seconds: Math.round((performance.now() - t0) / 100) / 10,
      }),
    );
    await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
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
    await new Promise((r) => setTimeout(r, afterSeconds * 1000));
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
        [`after${afterSeconds}sRssMiB`]: mib(process.memoryUsage().rss),
        secondsToServeAll: Math.round((heldAt - t0) / 100) / 10,
      }),
    );
    for (const s of held) s.destroy();
  }
  await app.close();
}
