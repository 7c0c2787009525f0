import type { MethodDefinition } from '../method.js';
import { HPFCN, HpfcnConfigSchema } from './hpfcn.js';

export {
  HPFCN,
  HpfcnConfigSchema,
  SlimConv,
  varianceScaling_,
  BottleneckV2,
  ResnetSmall,
  D1_FILTERS,
  bilinearUpsampleWeights,
  type HpfcnConfig,
} from './hpfcn.js';

export const HPFCN_METHOD: MethodDefinition = {
  name: 'hpfcn',
  source: 'Li & Huang, ICCV 2019 — lihaod/Deep_inpainting_localization hp_fcn.py (TensorFlow; layout table in models/README.md)',
  schema: HpfcnConfigSchema,
  adaptationKeys: ['image_head.'],
  lossTerms: ['focal', 'cls'],
  build: (config) => new HPFCN(config),
};
