import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readParityFolder } from '../../helpers/baseline-parity.js';
import { HighResolutionNet, type HrnetOptions } from '../../../src/models/backbones/hrnet.js';
import { torch } from '../../../src/torch/index.js';

// The one HRNet also serves HiFi-Net's FENet: the stride-1 HRNet-W18-small-v2 of seg_hrnet_config.py
// (stage 1: 2 Bottlenecks; stages 2–4: one module, 4 branches 18/36/72/144, 2 BasicBlocks each).
const W18_SMALL_V2_STRIDE1: HrnetOptions = {
  stemStride: 1,
  stage1: { numModules: 1, block: 'BOTTLENECK', numBlocks: [2], numChannels: [64] },
  stage2: { numModules: 1, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
  stage3: { numModules: 1, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
  stage4: { numModules: 1, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
};

test('hrnet: the stride-1 W18-small-v2 has the keys and shapes of HiFi-Net FENet (baseline-parity/hifinet) but its frequency stem', async () => {
  const folder = await readParityFolder('hifinet');
  const frequencyStem = /^(conv1fre|bn1fre|conv2fre|bn2fre|laplacian|conv_1x1_merge)\./;
  const official = folder.keys.entries
    .filter((e) => e.name.startsWith('FENet.'))
    .map((e) => [e.name.slice('FENet.'.length), e.shape.join(',')])
    .filter(([name]) => !frequencyStem.test(name));
  const net = new HighResolutionNet(W18_SMALL_V2_STRIDE1);
  assert.deepEqual(
    [...net.stateDict()].map(([k, t]) => [k, t.shape.join(',')]),
    official,
  );
  net.dispose();
});

test('hrnet: branches at strides 1, 2, 4, 8 with a stride-1 stem, and 4, 8, 16, 32 with the stride-2 one', () => {
  for (const stemStride of [1, 2] as const) {
    const net = new HighResolutionNet({ ...W18_SMALL_V2_STRIDE1, stemStride }).eval();
    torch.manualSeed(0);
    const out = torch.noGrad(() => net.forward(torch.randn([1, 3, 40, 56])));
    const s = stemStride === 1 ? 1 : 4;
    assert.deepEqual(
      out.map((t) => t.shape),
      [18, 36, 72, 144].map((c, i) => [1, c, Math.ceil(40 / (s << i)), Math.ceil(56 / (s << i))]),
      `stem stride ${stemStride}`,
    );
    net.dispose();
  }
});
