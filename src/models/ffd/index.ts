import type { MethodDefinition } from '../method.js';
import { FFD, FfdConfigSchema, type FfdConfig } from './ffd.js';

export { FFD, FfdConfigSchema, attentionMapTarget, type FfdConfig, type FfdOutputs } from './ffd.js';
export { SeparableConv2d, XceptionBlock } from '../backbones/xception.js';

export const FFD_METHOD: MethodDefinition = {
  name: 'ffd',
  source: 'Dang et al., CVPR 2020 — JStehouwer/FFD_CVPR2020 network/xception_map.py (Xception + Reg.)',
  schema: FfdConfigSchema,
  adaptationKeys: [],
  lossTerms: ['cls', 'map'],
  lossWeights: (config) => ({ map: (config as FfdConfig).mapWeight }),
  build: (config) => new FFD(config),
};
