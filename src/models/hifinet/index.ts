import type { MethodDefinition } from '../method.js';
import { HiFiNet, HifinetConfigSchema, type HifinetConfig, type HifinetConfigInput } from './hifinet.js';
import { hrnetImagenetAliases, joinOfficialCheckpoints } from './weights.js';

export {
  HiFiNet,
  HifinetConfigSchema,
  isolatingDistance,
  isolatingLoss,
  ISOLATING_MARGIN,
  ISOLATING_THRESHOLD,
  type HifinetConfig,
  type HifinetConfigInput,
  type HifinetOutputs,
} from './hifinet.js';
export { FENet, FENET_HRNET, GaussianSmoothing, LaPlacianMs, LAPLACIAN_SCALES } from './fenet.js';
export { hrnetImagenetAliases, joinOfficialCheckpoints } from './weights.js';
export { NLCDetection, NonLocalMask, PartialConv, BranchCLS, FPN_loc, FENET_WIDTHS, HIERARCHY_CLASSES, HIERARCHY_PARENT_COLUMNS } from './segnet.js';

export const HIFINET_METHOD: MethodDefinition = {
  name: 'hifinet',
  source: 'Guo et al., CVPR 2023 — CHELSEA234/HiFi_IFDL HiFi_Net_loc.py (FENet seg_hrnet.py + SegNet NLCDetection_loc.py)',
  schema: HifinetConfigSchema,
  adaptationKeys: [],
  // seg_hrnet.py init_weights: ImageNet HRNet-W18-small-v2 into FENet with the official renames (the frequency stem and the Laplacian's 1×1 are not in it)
  backbone: {
    layouts: ['hrnet'],
    prefixes: ['FENet.'],
    covers: (k) => k.startsWith('FENet.') && !/^FENet\.(laplacian|conv_1x1_merge)\./.test(k),
    aliases: hrnetImagenetAliases,
  },
  joinCheckpoints: joinOfficialCheckpoints,
  lossTerms: ['cls', 'mask', 'isolating'],
  lossWeights: (config) => {
    const c = config as HifinetConfig;
    return { cls: c.clsWeight, mask: c.maskWeight, isolating: c.isolating?.weight ?? 0 };
  },
  build: (config) => new HiFiNet(config as HifinetConfigInput),
};
