import type { MethodDefinition } from '../method.js';
import { FFD, FfdConfigSchema, type FfdConfig } from './ffd.js';

export { FFD, FfdConfigSchema, attentionMapTarget, type FfdConfig, type FfdOutputs } from './ffd.js';
export { SeparableConv2d, Xception, XceptionBlock, type XceptionOptions } from '../backbones/xception.js';
export { FFD_UNUSED_MODULES, ffdHeadToNative, isFfdHeadLayout } from './layout.js';

export const FFD_METHOD: MethodDefinition = {
  name: 'ffd',
  source: 'Dang et al., CVPR 2020 — JStehouwer/FFD_CVPR2020 network/xception_map.py (Xception + Reg.)',
  schema: FfdConfigSchema,
  adaptationKeys: [],
  // train_map_supervised.py's load_pretrain: Cadene's ImageNet Xception into the trunk
  backbone: { layouts: ['cadene'], prefixes: [''], covers: (k) => /^(conv[1-4]|bn[1-4]|block\d+)\./.test(k) },
  lossTerms: ['cls', 'map'],
  lossWeights: (config) => ({ map: (config as FfdConfig).mapWeight }),
  build: (config) => new FFD(config),
};
