import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readParityFolder, checkStateDict, checkedInput, compareAll, tapCollector } from '../helpers/baseline-parity.js';
import { tensorOf } from '../helpers/safetensors.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { Multitask } from '../../src/models/multitask/index.js';
import { torch } from '../../src/torch/index.js';

// Fixture baseline-parity/multitask: ClassNSeg's Encoder(3)/Decoder(3) under test_seg.py's forward.
const folder = await readParityFolder('multitask');

test('Multi-task equals the official forward: activations, class, score, softmax mask, its threshold, and a forced class-0 decoding', () => {
  const { data, shape } = checkedInput(folder);
  const model = new Multitask({ inputSize: shape[2] }).eval();
  const kinds = applyDetfillFanin(model, folder.keep, folder.offsetBasis);
  checkStateDict(folder, model.stateDict(), kinds);
  const { tap, values } = tapCollector();
  torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.forward(torch.fromTypedArray(data, shape), tap);
      const [zero, one] = [out.imgLogits.select(1, 0), out.imgLogits.select(1, 1)];
      tap('zero', zero);
      tap('one', one);
      tap('output_pred', one.ge(zero).float());
      tap('pred_prob', out.imgLogits.softmax(1).select(1, 1)); // test_cls.py
      tap('latent', out.latent);
      tap('seg_logits', out.maskLogits);
      tap('seg', out.maskLogits.softmax(1)); // the segmenter's nn.Softmax(dim=1)
      tap('rect', out.reconstruction);
      // the decoder on the class-0 half (what test_seg.py decodes for an image predicted real)
      const [B, C, h, w] = out.latent.shape;
      const realHalf = torch.cat([torch.ones([B, C / 2, h, w]), torch.zeros([B, C / 2, h, w])], 1);
      const forced = model.decoder.forward(out.latent.mul(realHalf), (name, t) => tap(`forced_class0/decoder.${name}`, t));
      tap('forced_class0/seg', forced.segLogits.softmax(1));
      tap('forced_class0/rect', forced.reconstruction);
    }),
  );
  compareAll(folder, values, ['seg_binary']);

  // seg_binary = seg[:,1] ≥ 0.5; README: exact except where the official |seg[:,1] − 0.5| is below the stated bound
  const near = Number(/< (\d(?:\.\d+)?e-\d+)/.exec(folder.toleranceCells.get('seg_binary')!)![1]);
  const reference = tensorOf(folder.expected, 'seg', 'F32');
  const binary = tensorOf(folder.expected, 'seg_binary', 'U8').data;
  const seg = values.get('seg')!;
  const [B, , H, W] = seg.shape;
  let flipped = 0;
  for (let n = 0; n < B; n++) {
    for (let p = 0; p < H * W; p++) {
      const at = (n * 2 + 1) * H * W + p;
      const ours = seg.data[at] >= 0.5 ? 1 : 0;
      if (ours !== binary[n * H * W + p] && Math.abs(reference.data[at] - 0.5) >= near) flipped++;
    }
  }
  console.log(`parity multitask seg_binary (full) differing pixels outside the near-0.5 band: ${flipped}`);
  assert.equal(flipped, 0, 'seg_binary flips away from the 0.5 boundary');
  model.dispose();
});
