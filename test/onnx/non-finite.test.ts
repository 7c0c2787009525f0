/** Export fails closed on non-finite weights (issue 19, defect 6): a NaN model must not ship. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMsccnet } from '../../src/models/msccnet/index.js';
import { applyDetfill } from '../../src/models/detfill.js';
import { exportMsccnet } from '../../src/onnx/index.js';
import { torch } from '../../src/torch/index.js';

test('defect 6: export refuses a model with a NaN weight and names the tensor', () => {
  const model = buildMsccnet('msccnet', { inputSize: 64, backboneDepth: 18, featsChannels: 64, dct: 'paper' }).eval();
  try {
    applyDetfill(model);
    const [name, weight] = [...model.stateDict()].find(([k]) => k.endsWith('conv1.weight'))!;
    const values = weight.toTypedArray() as Float32Array;
    values[values.length - 1] = Number.NaN;
    const broken = torch.tensor(values, weight.shape);
    model.loadStateDict(new Map([[name, broken]]), { strict: false });
    broken.dispose();
    assert.throws(
      () => exportMsccnet(model),
      (err: Error) => /non-finite/.test(err.message) && err.message.includes(name),
    );
  } finally {
    model.dispose();
  }
});
