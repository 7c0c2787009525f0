import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readParityFolder, faninCheckpoint } from '../helpers/baseline-parity.js';
import { ffdParity } from '../helpers/ffd-parity.js';
import { writePth } from '../helpers/pth-write.js';
import { runCli } from '../helpers/cli.js';
import { CheckpointLayoutError, loadModelFile, loadWeights } from '../../src/models/index.js';
import { encodeSafetensors } from '../../src/nn/index.js';
import { torch } from '../../src/torch/index.js';
import { FFD, FFD_UNUSED_MODULES, ffdHeadToNative } from '../../src/models/ffd/index.js';

// Fixture baseline-parity/ffd: FFD's repository-head layout (xception.py, Xception('reg')). msccnet's
// native layout is the initial xception_map.py one, so the head checkpoint goes through
// `msccnet weights convert --from ffd-xception`, and the converted model must give the head's outputs.
const folder = await readParityFolder('ffd');
const layoutMap = JSON.parse(readFileSync(join(folder.dir, 'layout_map.json'), 'utf8')) as { rows: { head: string | null; xception_map: string }[] };

test('the head → xception_map renaming equals the fixture key map, row for row', () => {
  const rows = layoutMap.rows.filter((r) => r.head !== null);
  assert.equal(rows.length, folder.keys.num_entries, 'every head key is mapped');
  for (const r of rows) assert.equal(ffdHeadToNative(r.head!), r.xception_map, r.head!);
  const unmapped = layoutMap.rows.filter((r) => r.head === null).map((r) => r.xception_map.split('.')[0]);
  assert.deepEqual([...new Set(unmapped)].sort(), [...FFD_UNUSED_MODULES].sort(), 'the modules without counterpart are the unused ones');
});

test('a head-layout checkpoint converts through `weights convert --from ffd-xception` and equals the official forward', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'msccnet-parity-ffd-'));
  try {
    const pth = join(tmp, 'head.pth');
    await writeFile(pth, writePth(faninCheckpoint(folder)));
    const out = join(tmp, 'ffd.safetensors');

    // without --from: one error that names the converter, nothing written
    const refused = await runCli(['weights', 'convert', pth, '--method', 'ffd', '-o', out]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /xception\.py layout.*\n.*--from ffd-xception/);
    assert.equal(existsSync(out), false);
    await assert.rejects(
      loadModelFile(pth, { method: 'ffd' }),
      (err: unknown) => err instanceof CheckpointLayoutError && /--from ffd-xception/.test(err.message),
    );
    const bare = join(tmp, 'head.safetensors'); // the same names in a bare safetensors file, as for --weights
    await writeFile(bare, encodeSafetensors(new Map([['block1.skip_bn.weight', torch.zeros([128])]])));
    const native = new FFD();
    await assert.rejects(loadWeights(native, bare), (err: unknown) => err instanceof CheckpointLayoutError && /--from ffd-xception/.test(err.message));
    native.dispose();

    const converted = await runCli(['weights', 'convert', pth, '--method', 'ffd', '--from', 'ffd-xception', '-o', out]);
    assert.equal(converted.code, 0, converted.stderr);
    assert.match(converted.stdout, new RegExp(`\\(ffd-xception\\): ${folder.keys.num_entries} used, 0 skipped, 0 missing, 0 shape-mismatched`));
    const { model } = await loadModelFile(out);
    assert.equal(model.methodName, 'ffd');
    ffdParity(folder, model as FFD);
    model.dispose();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
