/**
 * File-system and network failures reach the user as one MSCCNET_IO (or MSCCNET_REDIS) line with
 * a hint and no stack, before any work (issue 19, defect 8). /sys refuses new folders even to
 * root, which makes it a read-only output folder on every Linux machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { runCli, startCli } from '../helpers/cli.js';
import { exportSmallModel, faceImage } from '../web/helpers.js';

const tmp = await mkdtemp(join(tmpdir(), 'msccnet-io-'));
test.after(() => rm(tmp, { recursive: true, force: true }));
const readOnly = `/sys/msccnet-out-${process.pid}`;

function assertOneIoLine(stderr: string, path: string): void {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('msccnet: warning'));
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /MSCCNET_IO/);
  assert.ok(lines[0].includes(path), lines[0]);
  assert.match(lines[0], /→ \w/);
}

test('annotate into a read-only folder: one MSCCNET_IO line before any pair is computed', async () => {
  const t0 = performance.now();
  const run = await runCli(['annotate', '--pairs', join(fixtureDir('annotation-pairs'), 'pairs.txt'), '--out', readOnly, '-w', '1']);
  assert.equal(run.code, 1);
  assertOneIoLine(run.stderr, readOnly);
  assert.doesNotMatch(run.stdout, /annotated/);
  console.log(`# refused in ${Math.round(performance.now() - t0)} ms`);
});

test('detect into a read-only folder: one MSCCNET_IO line', async () => {
  const { path } = await exportSmallModel(tmp);
  const run = await runCli(['detect', faceImage(), '-m', path, '--no-face', '-o', readOnly]);
  assert.equal(run.code, 1);
  assertOneIoLine(run.stderr, readOnly);
});

test("serve on an address that is not this machine's: one MSCCNET_IO line", async () => {
  const { path } = await exportSmallModel(tmp);
  const run = await runCli(['serve', '-m', path, '--host', '192.0.2.1', '--port', '8080', '--quiet']);
  assert.equal(run.code, 1);
  assertOneIoLine(run.stderr, '192.0.2.1');
});

test('worker: exits non-zero when Redis is unreachable at start, and when it goes away later', { timeout: 90_000 }, async () => {
  const free = async (): Promise<number> =>
    new Promise((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => res(port));
      });
    });
  const never = await runCli(['worker', '--redis', `redis://127.0.0.1:${await free()}`, '--redis-timeout', '2']);
  assert.equal(never.code, 1);
  assert.match(never.stderr, /MSCCNET_REDIS|no Redis answered/);

  const port = await free();
  const redisDir = await mkdtemp(join(tmp, 'redis-'));
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  try {
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((res) => {
        const s = new Socket();
        s.once('error', () => res(false));
        s.connect(port, '127.0.0.1', () => {
          s.destroy();
          res(true);
        });
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const worker = startCli(['worker', '--redis', `redis://127.0.0.1:${port}`, '--redis-timeout', '3']);
    let stderr = '';
    worker.child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    for (let i = 0; i < 600 && !stderr.includes('ready on'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /ready on/);
    redis.kill('SIGKILL');
    const t0 = performance.now();
    const ended = await worker.done;
    assert.equal(ended.code, 1, ended.stderr);
    assert.match(ended.stderr, /no Redis answered/);
    console.log(`# worker exited ${Math.round(performance.now() - t0)} ms after Redis went away`);
  } finally {
    redis.kill('SIGKILL');
  }
});
