import type { MethodDefinition } from '../method.js';
import { Multitask, MultitaskConfigSchema } from './multitask.js';

export { Multitask, MultitaskConfigSchema, Encoder, Decoder, type MultitaskConfig, type MultitaskOutputs } from './multitask.js';

export const MULTITASK_METHOD: MethodDefinition = {
  name: 'multitask',
  source: 'Nguyen et al., BTAS 2019 — nii-yamagishilab/ClassNSeg model/ae.py (Encoder under `encoder.`, Decoder under `decoder.`)',
  schema: MultitaskConfigSchema,
  adaptationKeys: [],
  lossTerms: ['act', 'seg', 'rect'],
  build: (config) => new Multitask(config),
};
