import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import type { Conv2d } from '../../src/nn/index.js';
import { ConfigError } from '../../src/errors.js';
import { InputSizeError, UnknownVariantError } from '../../src/models/errors.js';
import { MSCCNet, buildMsccnet, msccnetLosses, parseMsccnetConfig, variantConfig, variantNames } from '../../src/models/msccnet/index.js';

// Parameter counts per module from official-spec §1–§6 (ResNet-50 os8, C = 512, K = 2, N = 4).
const SPEC = {
  backbone: 23_527_264,
  classifier: 2048 * 2 + 2,
  bottleneck: (inCh: number): number => inCh * 512 * 9 + 2 * 512, // conv3x3 (no bias) + BN affine
  mscc: 16_898 + 5 + (16 + 16_384) + 4_719_616, // decoder_map, fuse, gcn, bottleneck
  decoder: 512 * 512 + 2 * 512 + 512 * 2 + 2,
};
const MFA = SPEC.bottleneck(512) + SPEC.bottleneck(1024) + SPEC.bottleneck(1536);

test('the default config has the reference parameter count, 52,145,531', () => {
  const total = SPEC.backbone + SPEC.classifier + MFA + SPEC.bottleneck(2048) + SPEC.mscc + SPEC.decoder;
  assert.equal(total, 52_145_531, 'the spec figures add up');
  const model = new MSCCNet();
  assert.equal(model.backbone_net.numParameters(), SPEC.backbone, 'backbone');
  assert.equal(model.numParameters(), 52_145_531);
});

test('Table 6 Base. variants have the counts derived from the spec', () => {
  const base = SPEC.backbone + SPEC.classifier + SPEC.bottleneck(2048) + SPEC.decoder;
  const baseMfa = base + MFA;
  console.log(`# Base. (no MFA, no MSCC) from the spec: ${base.toLocaleString('en-US')}; Base.+MFA: ${baseMfa.toLocaleString('en-US')}`);
  assert.equal(buildMsccnet('base', { inputSize: 128 }).numParameters(), base);
  assert.equal(buildMsccnet('base+mfa', { inputSize: 128 }).numParameters(), baseMfa);
});

test('every ablation variant builds, runs forward and backward at 128², and counts its parameters', () => {
  const rows: string[] = [];
  for (const name of variantNames()) {
    torch.tidy(() => {
      const model = buildMsccnet(name, { inputSize: 128 });
      model.train();
      const x = torch.randn([1, 3, 128, 128]);
      const mask = torch.zeros([1, 128, 128]);
      const out = model.forward(x);
      assert.deepEqual(out.maskLogits.shape, [1, 2, 16, 16], `${name}: mask logits`);
      assert.equal(out.auxMap === null, !model.config.mscc, `${name}: aux map`);
      const losses = msccnetLosses(out, { segmentation: mask, label: torch.tensor([1], [1]) }, { auxLoss: model.config.auxLoss });
      assert.equal('pix_cls_map' in losses, model.config.auxLoss, `${name}: L_mscc term`);
      const total = losses.total.item();
      assert.ok(Number.isFinite(total), `${name}: loss ${total}`);
      losses.total.backward();
      const stem = model.backbone_net.stem!.at(0) as Conv2d;
      assert.ok(stem.weight.grad !== null, `${name}: no gradient reached the stem`);
      rows.push(`${name.padEnd(11)} ${variantConfig(name).table.padEnd(8)} ${model.numParameters().toLocaleString('en-US').padStart(11)}`);
      model.dispose();
    });
  }
  console.log(`# variant     table     parameters\n# ${rows.join('\n# ')}`);
});

test('bad configs and inputs give errors naming the field', () => {
  const message = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof ConfigError || err instanceof UnknownVariantError, String(err));
      return (err as Error).message;
    }
    assert.fail('no error');
  };
  assert.match(
    message(() => parseMsccnetConfig({ groups: 8 })),
    /groups: N must be a square/,
  );
  assert.match(
    message(() => parseMsccnetConfig({ groups: 3 })),
    /groups/,
  );
  assert.match(
    message(() => parseMsccnetConfig({ dct: 'dft' as never })),
    /^ {2}dct: /m,
  );
  assert.match(
    message(() => parseMsccnetConfig({ spectralk: 2 } as never)),
    /spectralk: unknown field/,
  );
  assert.match(
    message(() => parseMsccnetConfig({ backboneDepth: 152 as never })),
    /backboneDepth: expected 18, 34, 50 or 101/,
  );
  assert.match(
    message(() => parseMsccnetConfig({ mscc: false, auxLoss: true })),
    /auxLoss/,
  );
  assert.match(
    message(() => buildMsccnet('msccnet-xl')),
    /variant: unknown model variant 'msccnet-xl'/,
  );
  const model = new MSCCNet({ inputSize: 64, backboneDepth: 18 });
  assert.throws(
    () => torch.noGrad(() => model.forward(torch.zeros([1, 3, 128, 128]))),
    (err: unknown) => err instanceof InputSizeError && /inputSize/.test(err.message),
  );
});
