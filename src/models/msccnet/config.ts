import { z } from 'zod';
import { parseWith } from '../../errors.js';
import { pretrainedField } from '../method.js';

/**
 * MSCCNet configuration. The defaults are the official config `mscc_resnet_ff_all`
 * (official-spec §1–§7); every paper variant of Tables 6–8 is a named option.
 */
export const MsccnetConfigSchema = z
  .strictObject({
    // strict: a typo such as `spectralk` fails instead of being ignored
    numClasses: z.number().int().min(2).default(2).describe('K, classes of the pixel heads and the image classifier (0 real, 1 fake)'),
    backboneDepth: z
      .union([z.literal(18), z.literal(34), z.literal(50), z.literal(101)], { error: 'expected 18, 34, 50 or 101' })
      .default(50)
      .describe('ResNet V1c depth: 18/34 basic blocks, 50/101 bottlenecks'),
    baseChannels: z.number().int().positive().default(64).describe('official BuildResNet base_channels: planes of layer1 (layer2…4 double it)'),
    stemChannels: z
      .number()
      .int()
      .positive()
      .multipleOf(2)
      .default(64)
      .describe('official BuildResNet stem_channels: output channels of the stem (the deep stem runs at half of them first)'),
    useStem: z.boolean().default(true).describe('official BuildResNet use_stem: deep 3×3 stem (V1c); false: torchvision 7×7 conv1/bn1'),
    outputStride: z
      .union([z.literal(8), z.literal(16)], { error: 'expected 8 or 16' })
      .default(8)
      .describe('backbone output stride: 8 dilates layer3/4 (official), 16 only layer4'),
    featsChannels: z.number().int().positive().default(512).describe('C, channels of F_A and F_M (feats_channels = out_channels)'),
    outChannels: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('official head out_channels: channels of F_M (MSCC output) and of the decoder; default featsChannels'),
    headInChannels: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("official head in_channels: the backbone's layer4 channels; checked, not free (the default derives it)"),
    classifierInChannels: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("official classifier.last_inchannels: the backbone's layer4 channels; checked, not free"),
    inputSize: z.number().int().positive().default(512).describe('square input side; the DCT side S = ⌈inputSize / outputStride⌉ (64 for 512, os8)'),
    groups: z.number().int().positive().default(4).describe('N = k², MSCC channel groups (official spectral_k = 2 → 4); a square dividing featsChannels'),
    dct: z
      .enum(['official', 'paper', 'none'])
      .default('official')
      .describe(
        'official: 64 bases of an 8×8 grid, C/64 channels each (the code); paper: N bases of the first √N×√N grid, one per group; none: no spectral modulation',
      ),
    gcn: z.boolean().default(true).describe('refine the class centres with the GCN (Eq. 11)'),
    fusion: z.enum(['concat', 'add']).default('concat').describe('Eq. 14: conv3x3 over cat[F_A, attention] (official) or over F_A + attention'),
    mfa: z.boolean().default(true).describe('multi-level aggregation of layer2/3/4 (off: F_A = bottleneck3(layer4) alone)'),
    mscc: z.boolean().default(true).describe('the MSCC module (off: F_M = F_A, no aux map)'),
    auxLoss: z.boolean().optional().describe('L_mscc: cross-entropy on the fused auxiliary map (Eq. 15); default: on exactly when mscc is'),
    dropout: z.number().min(0).max(1).default(0.1).describe('Dropout2d before each 1×1 classifier conv'),
    pretrained: pretrainedField('the official init is OpenMMLab resnet50_v1c'),
  })
  .superRefine((c, ctx) => {
    const k = Math.round(Math.sqrt(c.groups));
    if (k * k !== c.groups) ctx.addIssue({ code: 'custom', path: ['groups'], message: `N must be a square (1, 4, 16, …), got ${c.groups}` });
    else if (c.featsChannels % c.groups !== 0) {
      ctx.addIssue({ code: 'custom', path: ['groups'], message: `N = ${c.groups} must divide featsChannels = ${c.featsChannels}` });
    }
    const layer4 = c.baseChannels * 8 * (c.backboneDepth >= 50 ? 4 : 1);
    for (const field of ['headInChannels', 'classifierInChannels'] as const) {
      const v = c[field];
      if (v !== undefined && v !== layer4) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${v} ≠ ${layer4}, the layer4 channels of ResNet-${c.backboneDepth} with baseChannels ${c.baseChannels}`,
        });
      }
    }
    if (!c.mscc && c.outChannels !== undefined && c.outChannels !== c.featsChannels) {
      ctx.addIssue({ code: 'custom', path: ['outChannels'], message: 'without MSCC the decoder reads F_A directly, so outChannels must equal featsChannels' });
    }
    if (!c.mscc && c.auxLoss === true) {
      ctx.addIssue({ code: 'custom', path: ['auxLoss'], message: 'the auxiliary loss needs the MSCC aux map, and mscc is off' });
    }
  })
  .transform((c) => ({ ...c, auxLoss: c.auxLoss ?? c.mscc, outChannels: c.outChannels ?? c.featsChannels }));

/** A validated configuration with every default filled in. */
export type MsccnetConfig = z.output<typeof MsccnetConfigSchema>;
/** What a caller may pass: any subset of the fields. */
export type MsccnetConfigInput = z.input<typeof MsccnetConfigSchema>;

/** Validates `input` over the official defaults; a bad field becomes a ConfigError naming it. */
export function parseMsccnetConfig(input: MsccnetConfigInput = {}): MsccnetConfig {
  return parseWith(MsccnetConfigSchema, input, 'fix the named fields; the defaults are the official config', {
    unknownKey: `unknown field (known: ${Object.keys(MsccnetConfigSchema.in.shape).join(', ')})`,
  });
}

/** Side of the stride-os feature map, S: every stride-2 layer (k3/p1 or k1/p0) rounds up. */
export function spectralSide(config: MsccnetConfig): number {
  return Math.ceil(config.inputSize / config.outputStride);
}
