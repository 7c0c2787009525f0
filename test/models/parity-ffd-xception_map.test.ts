import { test } from 'node:test';
import { readParityFolder, checkStateDict } from '../helpers/baseline-parity.js';
import { ffdParity } from '../helpers/ffd-parity.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { FFD } from '../../src/models/ffd/index.js';

// Fixture baseline-parity/ffd-xception_map: FFD's initial layout (network/xception_map.py), msccnet's native one.
const folder = await readParityFolder('ffd-xception_map');

test('FFD in the xception_map layout equals the official forward (every stored tensor within its README tolerance)', () => {
  const model = new FFD({ inputSize: (JSON.parse(folder.metadata.input_shape) as number[])[2] }).eval();
  const kinds = applyDetfillFanin(model, folder.keep, folder.offsetBasis);
  checkStateDict(folder, model.stateDict(), kinds);
  ffdParity(folder, model);
  model.dispose();
});
