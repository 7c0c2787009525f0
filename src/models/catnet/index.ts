import type { MethodDefinition } from '../method.js';
import { CAT_Net, CatnetConfigSchema, type CatnetConfigInput } from './catnet.js';

export {
  CAT_Net,
  CatnetConfigSchema,
  CatnetInputError,
  CATNET_AUXILIARY_INPUTS,
  CATNET_DCT_CHANNELS,
  type CatnetConfig,
  type CatnetConfigInput,
  type CatnetOutputs,
} from './catnet.js';

export const CATNET_METHOD: MethodDefinition = {
  name: 'catnet',
  source: 'Kwon et al., IJCV 2022 — mjkwon2021/CAT-Net lib/models/network_CAT.py, experiments/CAT_full.yaml',
  schema: CatnetConfigSchema,
  adaptationKeys: [],
  // the official init_weights: hrnetv2_w48_imagenet_pretrained.pth fills the RGB stream, DCT_djpeg.pth.tar the DCT stream
  backbone: {
    layouts: ['hrnet', 'catnet-dct'],
    prefixes: [''],
    covers: (k, layout) => (layout === 'catnet-dct' ? k.startsWith('dc_') : /^(conv[12]|bn[12]|layer1|transition[1-3]|stage[2-4])\./.test(k)),
  },
  lossTerms: ['seg'],
  build: (config) => new CAT_Net(config as CatnetConfigInput),
};
