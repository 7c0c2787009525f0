import { z } from 'zod';
import { ConfigError, parseWith } from '../../errors.js';
import type { MsccnetConfigInput } from './config.js';

/**
 * The fields of an official SSSegmentation MSCCNet config (`SEGMENTOR_CFG`) that shape the
 * network: `backbone` (BuildResNet), `classifier`, `head`. Other keys (norm_cfg, pretrained,
 * selected_indices, …) do not change the state dict and are ignored.
 */
const OfficialSchema = z.object({
  num_classes: z.number().int().min(2).optional(),
  backbone: z
    .object({
      type: z.enum(['resnet18', 'resnet34', 'resnet50', 'resnet101']).optional(),
      depth: z.union([z.literal(18), z.literal(34), z.literal(50), z.literal(101)]).optional(),
      base_channels: z.number().int().positive().optional(),
      stem_channels: z.number().int().positive().optional(),
      use_stem: z.boolean().optional(),
      outstride: z.union([z.literal(8), z.literal(16)]).optional(),
    })
    .optional(),
  classifier: z.object({ last_inchannels: z.number().int().positive().optional() }).optional(),
  head: z
    .object({
      in_channels: z.number().int().positive().optional(),
      feats_channels: z.number().int().positive().optional(),
      out_channels: z.number().int().positive().optional(),
      spectral_height: z.number().int().positive().optional(),
      spectral_width: z.number().int().positive().optional(),
      spectral_k: z.number().int().positive().optional(),
      dropout: z.number().min(0).max(1).optional(),
    })
    .optional(),
});
export type OfficialMsccnetConfig = z.input<typeof OfficialSchema>;

/**
 * Our config for an official one (its overrides of `mscc_resnet_ff_all`): e.g.
 * `{ backbone: { type: 'resnet18', base_channels: 16 }, head: { feats_channels: 32 } }`.
 * The spectral side S fixes the input size: inputSize = S · outstride.
 */
export function fromOfficialConfig(official: unknown): MsccnetConfigInput {
  const {
    backbone = {},
    classifier = {},
    head = {},
    num_classes,
  } = parseWith(OfficialSchema, official, 'pass the backbone/classifier/head fields of an official SSSegmentation MSCCNet config');
  const depthOfType = backbone.type === undefined ? undefined : (Number(backbone.type.slice('resnet'.length)) as 18 | 34 | 50 | 101);
  if (backbone.depth !== undefined && depthOfType !== undefined && backbone.depth !== depthOfType) {
    throw new ConfigError([`backbone.depth: ${backbone.depth} contradicts backbone.type ${backbone.type}`]);
  }
  if (head.spectral_height !== undefined && head.spectral_width !== undefined && head.spectral_height !== head.spectral_width) {
    throw new ConfigError([`head.spectral_height ${head.spectral_height} ≠ spectral_width ${head.spectral_width}: only square inputs are supported`]);
  }
  const outputStride = backbone.outstride ?? 8;
  const side = head.spectral_height ?? head.spectral_width;
  const config: MsccnetConfigInput = {
    numClasses: num_classes,
    backboneDepth: backbone.depth ?? depthOfType,
    baseChannels: backbone.base_channels,
    stemChannels: backbone.stem_channels,
    useStem: backbone.use_stem,
    outputStride: backbone.outstride,
    featsChannels: head.feats_channels,
    outChannels: head.out_channels,
    headInChannels: head.in_channels,
    classifierInChannels: classifier.last_inchannels,
    inputSize: side === undefined ? undefined : side * outputStride,
    groups: head.spectral_k === undefined ? undefined : head.spectral_k ** 2,
    dropout: head.dropout,
  };
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as MsccnetConfigInput;
}
