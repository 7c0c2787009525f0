import { UnknownVariantError } from '../errors.js';
import type { MsccnetConfigInput } from './config.js';
import { MSCCNet } from './msccnet.js';

export { MsccnetConfigSchema, parseMsccnetConfig, spectralSide, type MsccnetConfig, type MsccnetConfigInput } from './config.js';
export { dctFilter, officialDctWeight, paperDctWeight, MultiSpectralDCTLayer, type DctBases } from './dct.js';
export { GCN } from './gcn.js';
export { convBnRelu, multiLevelAggregation, type AggregationParts } from './mfa.js';
export { MSCC, type MsccOptions } from './mscc.js';
export { MSCCNet, Classifier, type MsccnetOutputs } from './msccnet.js';
export { fromOfficialConfig, type OfficialMsccnetConfig } from './official.js';
export { msccnetLosses, IGNORE_INDEX, type MsccnetLosses, type MsccnetTargets } from './losses.js';

/** A registered model variant: the paper table it reproduces and its config over the defaults. */
export interface MsccnetVariant {
  readonly table: string;
  readonly description: string;
  readonly config: MsccnetConfigInput;
}

/**
 * The official model and the ablations of the paper's Tables 6–8, each a few overrides of the
 * official config. "official" DCT = the code's 64 bases; "paper" DCT = N bases, one per group.
 */
export const MSCCNET_VARIANTS = {
  msccnet: { table: 'official', description: 'official config: ResNet-50 V1c os8, MFA, MSCC (N = 4, official DCT, GCN, concat), L_mscc', config: {} },
  base: { table: 'Table 6', description: 'Base.: backbone + bottleneck3(C4) + decoder + image head, no MFA, no MSCC', config: { mfa: false, mscc: false } },
  'base+mfa': { table: 'Table 6', description: 'Base. + MFA', config: { mscc: false } },
  'base+mscc': { table: 'Table 6', description: 'Base. + MSCC (F_A = bottleneck3(C4))', config: { mfa: false } },
  'no-gcn': { table: 'Table 7', description: 'MSCC without the GCN over class centres (Eq. 11)', config: { gcn: false } },
  'fusion-add': { table: 'Table 7', description: 'Eq. 14 fusion by addition instead of concatenation', config: { fusion: 'add' } },
  'no-aux-loss': { table: 'Table 7', description: 'without L_mscc (the aux-map cross-entropy)', config: { auxLoss: false } },
  'no-dct': { table: 'Table 7', description: 'MSCC without spectral modulation (fres = F_A)', config: { dct: 'none' } },
  n1: { table: 'Table 8', description: 'N = 1 group, official DCT (64 bases)', config: { groups: 1 } },
  n16: { table: 'Table 8', description: 'N = 16 groups, official DCT (64 bases)', config: { groups: 16 } },
  'paper-n1': { table: 'Table 8', description: 'N = 1, paper DCT: basis (0,0)', config: { groups: 1, dct: 'paper' } },
  'paper-n4': { table: 'Table 8', description: 'N = 4, paper DCT: (u,v) ∈ {0,1}², one per group', config: { groups: 4, dct: 'paper' } },
  'paper-n16': { table: 'Table 8', description: 'N = 16, paper DCT: (u,v) ∈ {0..3}², one per group', config: { groups: 16, dct: 'paper' } },
} as const satisfies Record<string, MsccnetVariant>;

export type MsccnetVariantName = keyof typeof MSCCNET_VARIANTS;

/** The names of the registered variants, in table order. */
export function variantNames(): MsccnetVariantName[] {
  return Object.keys(MSCCNET_VARIANTS) as MsccnetVariantName[];
}

/** Looks a variant up by name; unknown names throw UnknownVariantError listing the known ones. */
export function variantConfig(name: string): MsccnetVariant {
  if (!Object.hasOwn(MSCCNET_VARIANTS, name)) throw new UnknownVariantError(name, variantNames());
  return MSCCNET_VARIANTS[name as MsccnetVariantName];
}

/** Builds a registered variant; `overrides` (e.g. inputSize) apply over its config. */
export function buildMsccnet(variant: string = 'msccnet', overrides: MsccnetConfigInput = {}): MSCCNet {
  return new MSCCNet({ ...variantConfig(variant).config, ...overrides });
}
