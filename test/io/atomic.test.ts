import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ioErrorOf } from '../../src/errors.js';
import { ensureWritableDir, isTempName, removeStaleTemps, tempPath, writeFileAtomic } from '../../src/io/atomic.js';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('tempPath: beside the target, recognised by isTempName, fresh each time; final names are not temps', () => {
  const a = tempPath('/x/y/mask.png'),
    b = tempPath('/x/y/mask.png');
  assert.equal(join(a, '..'), '/x/y');
  assert.ok(isTempName(basename(a)) && a.endsWith('-mask.png'));
  assert.notEqual(a, b);
  for (const name of ['mask.png', 'step-00000001', '.hidden', 'partial-x']) assert.ok(!isTempName(name), name);
});

test('writeFileAtomic: a reader sees the old whole file or the new whole file, and only temp names besides', async (t) => {
  const dir = await scratch(t);
  const path = join(dir, 'sub', 'weights.bin');
  const old = Buffer.alloc(1 << 20, 1),
    next = Buffer.alloc(48 << 20, 2);
  await writeFileAtomic(path, old); // creates the folder
  let done = false;
  const writing = writeFileAtomic(path, next).finally(() => {
    done = true;
  });
  while (!done) {
    for (const name of await readdir(join(dir, 'sub'))) {
      if (name === 'weights.bin') {
        const size = await stat(path).then(
          (s) => s.size,
          () => null,
        );
        assert.ok(size === null || size === old.length || size === next.length, `partial file visible: ${size} bytes`);
      } else {
        assert.ok(isTempName(name), `unexpected name ${name}`);
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  await writing;
  assert.ok((await readFile(path)).equals(next));
  assert.deepEqual(await readdir(join(dir, 'sub')), ['weights.bin']);
});

test('writeFileAtomic: fsync flushes the file before the rename only when asked', async (t) => {
  const dir = await scratch(t);
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const original = proto.sync;
  let syncs = 0;
  proto.sync = function (this: unknown) {
    syncs++;
    return original.call(this);
  };
  t.after(() => {
    proto.sync = original;
  });
  await writeFileAtomic(join(dir, 'a.json'), '{}');
  assert.equal(syncs, 0);
  await writeFileAtomic(join(dir, 'b.safetensors'), new Uint8Array(16), { fsync: true });
  assert.equal(syncs, 1);
  assert.equal((await readFile(join(dir, 'b.safetensors'))).length, 16);
});

test('writeFileAtomic: a failed rename leaves the target untouched and no temp', async (t) => {
  const dir = await scratch(t);
  await mkdir(join(dir, 'taken', 'inner'), { recursive: true }); // a non-empty folder cannot be renamed over
  await assert.rejects(writeFileAtomic(join(dir, 'taken'), 'data'));
  assert.deepEqual(await readdir(dir), ['taken']);
  assert.deepEqual(await readdir(join(dir, 'taken')), ['inner']);
});

test('removeStaleTemps: temp files and temp folders (with their contents) at any depth go, the rest stays', async (t) => {
  const dir = await scratch(t);
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await writeFile(join(dir, 'a', 'b', 'mask.png'), 'x');
  await writeFile(tempPath(join(dir, 'a', 'b', 'mask.png')), 'half');
  const folder = tempPath(join(dir, 'step-00000002'));
  await mkdir(folder);
  await writeFile(join(folder, 'model.safetensors'), 'half');
  await writeFile(tempPath(join(folder, 'state.json')), 'half');
  assert.equal(await removeStaleTemps(dir), 2);
  assert.deepEqual((await readdir(dir, { recursive: true })).sort(), ['a', 'a/b', 'a/b/mask.png']);
  assert.equal(await removeStaleTemps(join(dir, 'missing')), 0);
});

test('ensureWritableDir creates the folder and leaves nothing in it', async (t) => {
  const dir = join(await scratch(t), 'out');
  await ensureWritableDir(dir);
  assert.deepEqual(await readdir(dir), []);
});

test('writeFileAtomic: createFolder false refuses a missing folder and leaves no temp', async (t) => {
  const dir = await scratch(t);
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'w.safetensors'), 'x', { createFolder: false }), {
    code: 'MSCCNET_IO',
    problem: `${join(dir, 'missing', 'w.safetensors')}: does not exist (ENOENT, open)`,
  });
  assert.deepEqual(await readdir(dir), []);
  await writeFileAtomic(join(dir, 'made', 'w.safetensors'), 'x');
  assert.deepEqual(await readdir(join(dir, 'made')), ['w.safetensors']);
});

test('a write cut by the file-size limit (ulimit -f → EFBIG): an MSCCNET_IO error naming the file, the old file intact, no temp left', async (t) => {
  const dir = await scratch(t);
  const path = join(dir, 'weights.bin');
  await writeFile(path, 'old');
  const atomic = new URL('../../src/io/atomic.ts', import.meta.url).pathname;
  const script = `import { writeFileAtomic } from ${JSON.stringify(atomic)};
    try { await writeFileAtomic(${JSON.stringify(path)}, new Uint8Array(1 << 20)); console.log('written'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, problem: e.problem })); }`;
  const { stdout } = await promisify(execFile)('bash', ['-c', `ulimit -f 64 && exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script]);
  const err = JSON.parse(stdout.trim()) as { code: string; problem: string };
  assert.equal(err.code, 'MSCCNET_IO');
  assert.equal(err.problem, `${path}: file too large (the file-size limit, ulimit -f, or the file system) (EFBIG, write)`);
  assert.equal(await readFile(path, 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['weights.bin']);
});

test('a full disk (ENOSPC from /dev/full): the error names the file it was writing', async () => {
  const fh = await open('/dev/full', 'w');
  const err = await fh.write(Buffer.alloc(10)).then(
    () => null,
    (e: unknown) => e,
  );
  await fh.close();
  assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.equal((err as NodeJS.ErrnoException).path, undefined, 'write(2) errors carry no path of their own');
  assert.equal(ioErrorOf(err, '/runs/x/records.jsonl')?.problem, '/runs/x/records.jsonl: no space left on the device (ENOSPC, write)');
});
