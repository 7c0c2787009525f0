/**
 * prepare's finished jobs are keyed by their inputs' identity (issue 19, defect 5): a video
 * replaced after a run is redone, an unchanged one is reused, and --retry-failed redoes jobs that
 * finished with unreadable inputs. The job here has an unreadable original (ffprobe fails fast):
 * no face detection runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrepareOptions, processJob, type PrepareEvent, type PrepareJob } from '../../src/data/prepare/prepare.js';

test('defect 5: a replaced input is redone; an unchanged one is reused; --retry-failed redoes failed jobs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-prepare-identity-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'in'));
  const raw = join(dir, 'in', '000.mp4');
  await writeFile(raw, Buffer.alloc(3000, 7)); // not a video: the job finishes with the original skipped
  const job: PrepareJob = { id: '000', split: 'test', original: { raw }, fakes: [], missing: [] };
  const options = parsePrepareOptions({ frames: 2, compressions: ['raw'], methods: ['Deepfakes'] });
  const out = join(dir, 'out');
  const outcome = async (retryFailed = false): Promise<string> => {
    const events: PrepareEvent[] = [];
    await processJob(job, out, options, { onProgress: (e) => events.push(e), retryFailed });
    const e = events.find((x) => x.kind === 'job');
    return e?.kind === 'job' ? e.outcome : 'none';
  };
  const first = await processJob(job, out, options);
  assert.ok(
    first.skipped.some((s) => s.video === 'youtube/000'),
    'the unreadable original is reported',
  );
  assert.equal(await outcome(), 'reused', 'same inputs: reused');
  assert.equal(await outcome(true), 'done', '--retry-failed: a job that finished with unreadable inputs is redone');

  await writeFile(raw, Buffer.alloc(4000, 9)); // the video is replaced (another size)
  assert.equal(await outcome(), 'done', 'a replaced input is redone');
  assert.equal(await outcome(), 'reused');
  await utimes(raw, new Date(), new Date(Date.now() + 5000)); // same size, touched: replaced by a copy
  assert.equal(await outcome(), 'done', 'a touched input is redone');
});
