import type { MethodDefinition } from '../method.js';
import { MVSSNet, MvssConfigSchema, type MvssConfig } from './mvss.js';

export { MVSSNet, MvssConfigSchema, ERB, BayarConv2d, DAHead, edgeTarget, diceLoss, type MvssConfig, type MvssOutputs } from './mvss.js';
export { MvssResNet50, ImageHead } from './backbone.js';

export const MVSS_METHOD: MethodDefinition = {
  name: 'mvss',
  source: 'Chen et al., ICCV 2021 — dong03/MVSS-Net models/mvssnet.py, get_mvss(sobel=True, constrain=True)',
  schema: MvssConfigSchema,
  adaptationKeys: ['image_head.'],
  // the official resnet() loads ImageNet ResNet-50 into both ResNets (RGB and noise branch)
  backbone: {
    layouts: ['torchvision'],
    prefixes: ['model.', 'noise_extractor.model.'],
    covers: (k) => /^(model|noise_extractor\.model)\./.test(k) && !/\.fc\./.test(k),
  },
  lossTerms: ['seg', 'cls', 'edge'],
  lossWeights: (config) => {
    const c = config as MvssConfig;
    return { seg: c.alpha, cls: c.beta, edge: 1 - c.alpha - c.beta };
  },
  build: (config) => new MVSSNet(config),
};
