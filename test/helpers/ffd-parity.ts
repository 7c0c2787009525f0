/** The forward of FFD's two parity folders (`ffd`, `ffd-xception_map`): same network, same stored tensors. */
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import type { FFD } from '../../src/models/ffd/index.js';
import { checkedInput, compareAll, tapCollector, type Comparison, type ParityFolder } from './baseline-parity.js';

/** Runs `model` (eval, weights loaded) on the folder's input and compares every stored tensor. */
export function ffdParity(folder: ParityFolder, model: FFD): Comparison[] {
  const { data, shape } = checkedInput(folder);
  const { tap, values } = tapCollector();
  torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.forward(torch.fromTypedArray(data, shape), tap);
      tap('x', out.imgLogits);
      tap('pred', out.imgLogits.argmax(1)); // test.py's torch.max(x, dim=1)[1]
    }),
  );
  const rows = compareAll(folder, values);
  assert.ok(rows.some((r) => r.tensor === 'pred'));
  return rows;
}
