/**
 * Saves a 1 MiB checkpoint into argv[2]; run under `ulimit -f` by checkpoint.test.ts, so that its
 * write fails the way a full disk makes it fail (EFBIG rather than ENOSPC). Prints the error's code, then its
 * problem line.
 */
import { Linear, SGD } from '../../src/nn/index.js';
import { RNG_SCHEME, saveCheckpoint } from '../../src/train/checkpoint.js';

const layer = new Linear(512, 512, { bias: false });
const optimizer = new SGD(layer.parameters(), { lr: 1 });
const state = { step: 1, epoch: 0, seed: 0, rng: RNG_SCHEME, mIoU: null, bestMIoU: null, worldSize: 1, savedAt: new Date(0).toISOString() };
try {
  await saveCheckpoint(process.argv[2], 'step-00000001', layer, optimizer, state);
  console.log('saved');
} catch (err) {
  const e = err as { code?: string; problem?: string };
  console.log(`${e.code ?? String(err)}\n${e.problem ?? ''}`);
  process.exitCode = 1;
}
