/**
 * The method registry (issue 16): MSCCNet and the benchmark's baselines behind one interface
 * (method.ts), looked up by name: `buildMethod('mvss', { inputSize: 256 })`.
 */
import type { Tensor } from '../torch/index.js';
import { UnknownVariantError, WeightsError } from './errors.js';
import { stateDictProblems } from './weights.js';
import { MSCCNET_BACKBONE, NO_BACKBONE, rejectRenamedLayout, type BackboneScope } from './convert.js';
import { MSCCNet, MsccnetConfigSchema, msccnetLosses, type MsccnetConfigInput, type MsccnetOutputs } from './msccnet/index.js';
import { officialPreprocess } from '../image/preprocess.js';
import { METHOD_NAMES, type MethodDefinition, type MethodModel, type MethodName, type MethodTargets, type NamedLosses, type Preprocessing } from './method.js';
import { FFD_METHOD } from './ffd/index.js';
import { MVSS_METHOD } from './mvss/index.js';
import { MULTITASK_METHOD } from './multitask/index.js';
import { HPFCN_METHOD } from './hpfcn/index.js';
import { M2TR_METHOD } from './m2tr/index.js';
import { CATNET_METHOD } from './catnet/index.js';
import { SLADD_METHOD } from './sladd/index.js';
import { HIFINET_METHOD } from './hifinet/index.js';

/** MSCCNet through the registry, its own class unchanged: losses and preprocessing added. */
export class MsccnetMethod extends MSCCNet implements MethodModel<MsccnetOutputs> {
  readonly methodName = 'msccnet' as const;
  get preprocessing(): Preprocessing {
    return officialPreprocess(this.config.inputSize); // what model files and exports recorded before the registry
  }
  losses(outputs: MsccnetOutputs, targets: MethodTargets): NamedLosses {
    const { pix_cls_map, ...always } = msccnetLosses(outputs, targets, { auxLoss: this.config.auxLoss });
    return pix_cls_map === undefined ? always : { ...always, pix_cls_map };
  }
}

const registry = new Map<MethodName, MethodDefinition>();

const MSCCNET_METHOD: MethodDefinition = {
  name: 'msccnet',
  source: 'Miao et al., MSCCNet (official code, config mscc_resnet_ff_all)',
  schema: MsccnetConfigSchema,
  adaptationKeys: [],
  backbone: MSCCNET_BACKBONE,
  lossTerms: ['img_cls', 'pix_cls_map', 'pix_cls_mask'],
  build: (config) => new MsccnetMethod(config as MsccnetConfigInput),
};

for (const def of [MSCCNET_METHOD, HPFCN_METHOD, MULTITASK_METHOD, FFD_METHOD, MVSS_METHOD, M2TR_METHOD, SLADD_METHOD, CATNET_METHOD, HIFINET_METHOD])
  registry.set(def.name, def);

/** The registered method names, in the paper's table order. */
export function methodNames(): MethodName[] {
  return METHOD_NAMES.filter((n) => registry.has(n));
}

/** A method's registry entry; unknown names throw UnknownVariantError listing the known ones. */
export function methodDefinition(name: string): MethodDefinition {
  const def = registry.get(name as MethodName);
  if (def === undefined) throw new UnknownVariantError(name, methodNames());
  return def;
}

/** Where a method's ImageNet backbone sits (`model.pretrained`, `weights convert --method`). */
export function methodBackbone(name: string): BackboneScope {
  return methodDefinition(name).backbone ?? NO_BACKBONE;
}

/** Builds a method by name over its official defaults (`config` is validated by the method's schema). */
export function buildMethod(name: string, config: unknown = {}): MethodModel {
  return methodDefinition(name).build(config);
}

/**
 * Loads an official state dict (names as in the authors' code) into a method: strict, except
 * that the keys the MSCCNet paper's adaptation adds (`adaptationKeys`, e.g. MVSS-Net's image
 * head) may be absent and then keep their initial values. Returns the keys left at their
 * initial values.
 */
export function loadMethodStateDict(model: MethodModel, state: Map<string, Tensor>, source: string): string[] {
  const adapted = methodDefinition(model.methodName).adaptationKeys;
  const isAdapted = (line: string) => adapted.some((prefix) => line.startsWith(`missing: ${prefix}`));
  const problems = stateDictProblems(model, state).filter((p) => !isAdapted(p));
  if (problems.length > 0) rejectRenamedLayout(state.keys(), source);
  if (problems.length > 0) {
    throw new WeightsError(
      source,
      problems.slice(0, 20).concat(problems.length > 20 ? [`… ${problems.length - 20} more`] : []),
      `the file must hold ${model.methodName}'s official state-dict names, as its authors' code saves them (the first is '${[...model.stateDict().keys()][0]}'); the lines above name the keys that differ`,
    );
  }
  model.loadStateDict(state, { strict: false });
  return [...model.stateDict().keys()].filter((k) => !state.has(k));
}
