import type { MethodDefinition } from '../method.js';
import { M2TR, M2trConfigSchema, type M2trConfig } from './m2tr.js';

export { M2TR, M2trConfigSchema, type M2trConfig, type M2trOutputs, type M2trTap } from './m2tr.js';
export { GlobalFilter, FreqBlock, realDftMatrices } from './frequency.js';
export { CMABlock, MultiHeadedAttention, PatchTrans, TransformerBlock, chunkedAttention } from './attention.js';
export { Classifier2D, Deconv, FeedForward2D, Localizer } from './modules.js';

export const M2TR_METHOD: MethodDefinition = {
  name: 'm2tr',
  source: 'Wang et al., ICMR 2022 — wdrink/M2TR-Multi-modal-Multi-scale-Transformers-for-Deepfake-Detection M2TR/models/m2tr.py, configs/m2tr.yaml',
  schema: M2trConfigSchema,
  adaptationKeys: ['decoder.'],
  // the official EfficientNet loads the advprop ImageNet file, _fc left out (it stays, unused)
  backbone: { layouts: ['efficientnet'], prefixes: ['model.'], covers: (k) => k.startsWith('model.') && !k.startsWith('model._fc.') },
  lossTerms: ['focal', 'mask'],
  lossWeights: (config) => ({ mask: (config as M2trConfig).maskWeight }),
  build: (config) => new M2TR(config),
};
