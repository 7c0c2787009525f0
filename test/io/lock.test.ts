import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LOCK_NAME, lockFolder, withFolderLock, FolderLockedError, type LockOwner } from '../../src/io/lock.js';

const lockModule = fileURLToPath(new URL('../../src/io/lock.ts', import.meta.url));

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A separate Node process that runs `body` (ESM, `lockFolder` and `dir` in scope) and reports on stdout. */
function child(dir: string, body: string): { proc: ChildProcess; out: Promise<string> } {
  const code = `import { lockFolder } from ${JSON.stringify(lockModule)}; const dir = ${JSON.stringify(dir)};\n${body}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return { proc, out: once(proc, 'close').then(() => text) };
}

async function waitForLine(proc: ChildProcess, line: string): Promise<void> {
  let seen = '';
  for await (const d of proc.stdout! as AsyncIterable<Buffer>) {
    seen += d.toString();
    if (seen.includes(line)) return;
  }
  throw new Error(`child ended without '${line}': ${seen}`);
}

/** A PID that belonged to a process that has ended. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '']);
  await once(p, 'exit');
  return p.pid!;
}

test('a second process is refused at once, naming the holder (PID, host, since, command); the folder is free again after release', async (t) => {
  const dir = await scratch(t);
  const holder = child(dir, `await lockFolder(dir, 'msccnet evaluate --out X'); console.log('held'); setInterval(() => {}, 1000);`);
  t.after(() => holder.proc.kill('SIGKILL'));
  await waitForLine(holder.proc, 'held');
  const t0 = performance.now();
  const err = await lockFolder(dir).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(performance.now() - t0 < 1000, 'refused at once');
  assert.ok(err instanceof FolderLockedError);
  assert.equal(err.code, 'MSCCNET_LOCKED');
  assert.equal(err.problem.split('\n').length, 1, 'one line');
  assert.match(err.problem, new RegExp(`PID ${holder.proc.pid} on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT.*\\(msccnet evaluate --out X\\)`));
  const owner = JSON.parse(await readFile(join(dir, LOCK_NAME), 'utf8')) as LockOwner;
  assert.equal(owner.pid, holder.proc.pid);

  // SIGTERM with no handler of the program's own: the process dies by the signal and its lock goes with it
  holder.proc.kill('SIGTERM');
  const [code, signal] = (await once(holder.proc, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.deepEqual([code, signal], [null, 'SIGTERM'], 'died by the signal, as without the lock');
  assert.ok(!existsSync(join(dir, LOCK_NAME)), 'released on SIGTERM');
  const lock = await lockFolder(dir);
  await lock.release();
  assert.deepEqual(await readdir(dir), [], 'nothing left behind');
});

test('released on a normal exit and on an error inside withFolderLock; a second lock in the same process is refused', async (t) => {
  const dir = await scratch(t);
  const exiting = child(dir, `await lockFolder(dir); console.log('held'); process.exit(3);`);
  assert.match(await exiting.out, /held/);
  assert.equal(exiting.proc.exitCode, 3);
  assert.ok(!existsSync(join(dir, LOCK_NAME)), 'released on process.exit');

  await assert.rejects(
    withFolderLock(dir, async () => {
      await assert.rejects(lockFolder(dir), { code: 'MSCCNET_LOCKED', message: /another run of this process/ });
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(!existsSync(join(dir, LOCK_NAME)), 'released on the error');
});

test('a stale lock (its PID gone, same host) is taken over; one from another host is never broken', async (t) => {
  const dir = await scratch(t);
  const stale: LockOwner = {
    pid: await deadPid(),
    host: hostname(),
    since: '2026-01-01T00:00:00.000Z',
    command: 'x',
    bootId: null,
    pidStart: null,
    token: 'old',
  };
  await writeFile(join(dir, LOCK_NAME), JSON.stringify(stale));
  const lock = await lockFolder(dir);
  assert.equal((JSON.parse(await readFile(lock.path, 'utf8')) as LockOwner).pid, process.pid);
  await lock.release();

  // a live PID whose start time differs was reused by another process: stale as well
  await writeFile(join(dir, LOCK_NAME), JSON.stringify({ ...stale, pid: process.pid, pidStart: '1' }));
  await (await lockFolder(dir)).release();

  const remote = { ...stale, host: 'elsewhere.example' };
  await writeFile(join(dir, LOCK_NAME), JSON.stringify(remote));
  await assert.rejects(lockFolder(dir), (e: FolderLockedError) => {
    assert.match(e.problem, /PID \d+ on elsewhere\.example since 2026-01-01/);
    assert.match(e.hint, new RegExp(`never broken automatically.*remove ${join(dir, LOCK_NAME).replace(/[.]/g, '\\.')}`));
    return true;
  });
  assert.deepEqual(JSON.parse(await readFile(join(dir, LOCK_NAME), 'utf8')), remote, 'left as it was');

  await writeFile(join(dir, LOCK_NAME), 'not json');
  await assert.rejects(lockFolder(dir), /not a msccnet lock/);
});

test('eight processes racing for one folder, over a stale lock: exactly one holds it', async (t) => {
  const dir = await scratch(t);
  const stale = { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'x', bootId: null, pidStart: null, token: 'old' };
  await writeFile(join(dir, LOCK_NAME), JSON.stringify(stale));
  const startAt = Date.now() + 4000; // every racer has loaded by then: they start together
  const racers = Array.from({ length: 8 }, () =>
    child(
      dir,
      `await new Promise((r) => setTimeout(r, ${startAt} - Date.now()));
       try { await lockFolder(dir); console.log('WON'); await new Promise((r) => setTimeout(r, 1500)); }
       catch (e) { console.log(e.code === 'MSCCNET_LOCKED' ? 'REFUSED' : 'ERROR ' + e.message); }`,
    ),
  );
  const outs = await Promise.all(racers.map((r) => r.out));
  assert.equal(outs.filter((o) => o.includes('WON')).length, 1, outs.join('\n'));
  assert.equal(outs.filter((o) => o.includes('REFUSED')).length, 7, outs.join('\n'));
  assert.deepEqual(await readdir(dir), [], 'the winner released it; no temp or breaker file left');
});
