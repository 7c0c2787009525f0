import type { CatnetConfigInput } from '../../src/models/catnet/index.js';

/** CAT-Net's layout at small widths for tests (W48 has 114 M parameters: its parity is catnet-parity.test.ts). */
export function smallCatnet(inputSize: number): CatnetConfigInput {
  return {
    inputSize,
    width: 4,
    dctWidth: 8,
    fusionWidth: 4,
    blocks: 1,
    modules: { stage2: 1, stage3: 1, stage4: 1, dcStage3: 1, dcStage4: 1, stage5: 1 },
  };
}
