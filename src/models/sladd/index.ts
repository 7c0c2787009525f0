import type { MethodDefinition } from '../method.js';
import { SLADD, SladdConfigSchema, type SladdConfig } from './sladd.js';

export {
  SLADD,
  SladdXception,
  RegressionMap,
  SladdConfigSchema,
  amSoftmaxLoss,
  mapTarget,
  pooledFeatures,
  sladdLosses,
  SLADD_TYPE_REAL,
  SLADD_TYPE_FAKE,
  type SladdConfig,
  type SladdOutputs,
  type SladdTargets,
} from './sladd.js';
export {
  SladdPolicy,
  PolicyXception,
  sampleActions,
  reinforceLoss,
  SLADD_REGIONS,
  SLADD_BLEND_TYPES,
  SLADD_KEEP_REAL,
  type PolicyLogits,
  type PolicyActions,
} from './synthesizer.js';
export { sladdSynthesizerStep, type SladdPair, type SladdStepResult, type StepOptimizer } from './train-step.js';

export const SLADD_METHOD: MethodDefinition = {
  name: 'sladd',
  source: 'Chen et al., CVPR 2022 — liangchen527/SLADD networks/xception.py TransferModel (detector)',
  schema: SladdConfigSchema,
  adaptationKeys: [],
  // return_pytorch04_xception: Cadene's ImageNet Xception into the trunk under `model.`
  backbone: { layouts: ['cadene'], prefixes: ['model.'], covers: (k) => /^model\.(conv[1-4]|bn[1-4]|block\d+)\./.test(k) },
  lossTerms: ['cls', 'map', 'type', 'mag'],
  lossWeights: (config) => {
    const c = config as SladdConfig;
    return { map: c.mapWeight, type: c.typeWeight, mag: c.magWeight };
  },
  build: (config) => new SLADD(config),
};
