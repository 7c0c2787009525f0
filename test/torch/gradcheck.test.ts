import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, torch, type Tensor } from '../../src/torch/index.js';
import { gradcheck, lcg, randomInput } from '../helpers/gradcheck.js';

type Input = { shape: number[]; data: Float64Array };
const rand = lcg(12345);
const R = (...shape: number[]): Input => randomInput(shape, rand);
/** Values bounded away from 0 (for log, sqrt, abs, div) */
const P = (...shape: number[]): Input => randomInput(shape, rand, (v) => 0.5 + Math.abs(v));
const L = (data: number[], shape: number[]) => torch.tensor(data, shape, 'int64');

const cases: [name: string, f: (x: Tensor[]) => Tensor, inputs: Input[]][] = [
  ['add (broadcast)', ([a, b]) => a.add(b), [R(2, 3), R(3)]],
  ['sub', ([a, b]) => a.sub(b).sub(0.5), [R(2, 3), R(2, 3)]],
  ['mul (broadcast)', ([a, b]) => a.mul(b).mul(3), [R(2, 3), R(2, 1)]],
  ['div', ([a, b]) => a.div(b).div(2), [R(2, 3), P(2, 3)]],
  ['neg', ([a]) => a.neg(), [R(5)]],
  ['relu', ([a]) => a.relu(), [R(10)]],
  ['sigmoid', ([a]) => a.sigmoid(), [R(6)]],
  ['tanh', ([a]) => a.tanh(), [R(6)]],
  ['exp', ([a]) => a.exp(), [R(6)]],
  ['log', ([a]) => a.log(), [P(6)]],
  ['pow', ([a]) => a.pow(3), [R(6)]],
  ['sqrt', ([a]) => a.sqrt(), [P(6)]],
  ['abs', ([a]) => a.abs(), [P(6)]],
  ['maximum/minimum/clamp', ([a, b]) => a.maximum(b).add(a.minimum(b).mul(2)).clamp(-0.5, 0.7), [R(8), R(8)]],
  ['matmul', ([a, b]) => a.matmul(b), [R(3, 4), R(4, 2)]],
  ['matmul (batched broadcast)', ([a, b]) => a.matmul(b), [R(2, 3, 4), R(4, 2)]],
  ['bmm', ([a, b]) => a.bmm(b), [R(2, 3, 4), R(2, 4, 2)]],
  ['softmax', ([a]) => a.softmax(-1), [R(3, 4)]],
  ['logSoftmax', ([a]) => a.logSoftmax(1), [R(3, 4)]],
  [
    'sum / mean over dims',
    ([a]) =>
      a
        .sum(1)
        .add(a.mean([0, 2], true).sum())
        .add(a.sum()),
    [R(2, 3, 2)],
  ],
  ['max(dim) / max()', ([a]) => a.max(1).values.add(a.max()), [R(3, 4)]],
  [
    'view/reshape/permute/transpose/flatten',
    ([a]) => a.view(2, 6).reshape([3, 4]).transpose(0, 1).contiguous().view(2, 2, 3).permute(2, 0, 1).flatten(1).unsqueeze(0).squeeze(0),
    [R(3, 4)],
  ],
  [
    'split/chunk/narrow/slice/select/expand',
    ([a]) => {
      const [p, q] = a.split(2, 1);
      const [c0, c1] = a.chunk(2, 0);
      return torch.cat(
        [
          p.sum(1),
          q.sum(1),
          c0.sum().unsqueeze(0),
          c1.sum().unsqueeze(0).expand(2).sum().unsqueeze(0),
          a.narrow(1, 1, 2).sum(0),
          a.slice(1, 0, 4, 2).select(1, 1),
        ],
        0,
      );
    },
    [R(4, 3)],
  ],
  ['cat / stack', ([a, b]) => torch.stack([torch.cat([a, b], 1), torch.cat([b, a], 1)], 0), [R(2, 2), R(2, 3)]],
  ['where', ([a, b]) => torch.where(a.gt(0), a, b.mul(2)), [R(6), R(6)]],
  ['conv2d (bias)', ([x, w, b]) => F.conv2d(x, w, b), [R(1, 2, 5, 5), R(3, 2, 3, 3), R(3)]],
  ['conv2d strided + padded', ([x, w]) => F.conv2d(x, w, null, { stride: 2, padding: 1 }), [R(2, 2, 6, 5), R(3, 2, 3, 3)]],
  ['conv2d dilated (d=2, p=2)', ([x, w]) => F.conv2d(x, w, null, { dilation: 2, padding: 2 }), [R(1, 2, 7, 7), R(2, 2, 3, 3)]],
  [
    'conv2d dilated+strided, asymmetric',
    ([x, w]) => F.conv2d(x, w, null, { stride: [2, 1], padding: [3, 1], dilation: [3, 1] }),
    [R(1, 1, 7, 6), R(2, 1, 3, 3)],
  ],
  ['conv2d grouped', ([x, w, b]) => F.conv2d(x, w, b, { groups: 2, padding: 1 }), [R(1, 4, 4, 4), R(4, 2, 3, 3), R(4)]],
  [
    'batchNorm train',
    ([x, w, b]) => F.batchNorm(x, torch.zeros([3], { dtype: 'float64' }), torch.ones([3], { dtype: 'float64' }), w, b, true, 0.1, 1e-5),
    [R(3, 3, 2, 2), P(3), R(3)],
  ],
  ['batchNorm train without running stats', ([x]) => F.batchNorm(x, null, null, null, null, true), [R(2, 2, 3, 1)]],
  [
    'batchNorm eval',
    ([x, w, b]) => F.batchNorm(x, torch.tensor([0.1, -0.2], [2], 'float64'), torch.tensor([0.5, 2], [2], 'float64'), w, b, false),
    [R(2, 2, 2, 2), R(2), R(2)],
  ],
  ['maxPool2d k3 s2 p1', ([x]) => F.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), [R(1, 2, 6, 6)]],
  ['maxPool2d dilated, ceilMode', ([x]) => F.maxPool2d(x, { kernelSize: 2, stride: 2, dilation: 2, ceilMode: true }), [R(1, 1, 7, 7)]],
  ['avgPool2d', ([x]) => F.avgPool2d(x, { kernelSize: 2, stride: 1, padding: 1, countIncludePad: false }), [R(1, 1, 3, 4)]],
  ['adaptiveAvgPool2d 1', ([x]) => F.adaptiveAvgPool2d(x, 1), [R(2, 2, 3, 3)]],
  ['adaptiveAvgPool2d non-divisible', ([x]) => F.adaptiveAvgPool2d(x, [3, 2]), [R(1, 2, 5, 5)]],
  ['linear', ([x, w, b]) => F.linear(x, w, b), [R(3, 4), R(2, 4), R(2)]],
  ['interpolate bilinear alignCorners=false', ([x]) => F.interpolate(x, { size: [7, 5], mode: 'bilinear', alignCorners: false }), [R(1, 2, 3, 4)]],
  ['interpolate bilinear alignCorners=true', ([x]) => F.interpolate(x, { size: [7, 5], mode: 'bilinear', alignCorners: true }), [R(1, 2, 3, 4)]],
  ['interpolate bilinear downsample', ([x]) => F.interpolate(x, { size: [3, 2], mode: 'bilinear' }), [R(1, 1, 7, 5)]],
  ['interpolate bilinear scaleFactor', ([x]) => F.interpolate(x, { scaleFactor: 2.5, mode: 'bilinear' }), [R(1, 1, 3, 3)]],
  ['interpolate nearest', ([x]) => F.interpolate(x, { size: [5, 6], mode: 'nearest' }), [R(1, 1, 3, 4)]],
  ['crossEntropy mean, ignoreIndex', ([x]) => F.crossEntropy(x, L([0, 2, 255, 1, 255, 2], [6]), { ignoreIndex: 255 }), [R(6, 3)]],
  [
    'crossEntropy pixelwise [N,C,H,W], ignoreIndex',
    ([x]) => F.crossEntropy(x, L([0, 1, 255, 1, 0, 0, 1, 255], [2, 2, 2]), { ignoreIndex: 255 }),
    [R(2, 2, 2, 2)],
  ],
  [
    'crossEntropy sum / none, class weights',
    ([x]) =>
      F.crossEntropy(x, L([1, 0, 2], [3]), { reduction: 'sum', weight: torch.tensor([1, 2, 0.5], [3], 'float64') }).add(
        F.crossEntropy(x, L([2, 2, 0], [3]), { reduction: 'none' }).sum(),
      ),
    [R(3, 3)],
  ],
  ['binaryCrossEntropyWithLogits', ([x]) => F.binaryCrossEntropyWithLogits(x, torch.tensor([0, 1, 1, 0], [4], 'float64')), [R(4)]],
  [
    'dropout (fixed seed)',
    ([x]) => {
      torch.manualSeed(3);
      return F.dropout(x, 0.4, true);
    },
    [R(4, 5)],
  ],
  [
    'dropout2d (fixed seed)',
    ([x]) => {
      torch.manualSeed(4);
      return F.dropout2d(x, 0.5, true);
    },
    [R(2, 4, 2, 2)],
  ],
];

const summary: Record<string, number> = {};
for (const [name, f, inputs] of cases) {
  test(`gradient of ${name} matches central finite differences (float64)`, (t) => {
    const r = gradcheck(f, inputs);
    summary[name] = r.maxAbsError;
    t.diagnostic(`max |analytic − numeric| = ${r.maxAbsError.toExponential(2)} over ${r.checked} elements`);
    assert.ok(r.checked > 0);
    assert.deepEqual(r.failures, [], `${name}: gradient differs from finite differences`);
  });
}

test('gradcheck itself detects a wrong gradient', () => {
  // relu'(x) is 0/1; comparing relu's autograd against the finite differences of a different function must fail.
  let calls = 0; // call 0 probes the output shape, call 1 is the autograd pass, later calls are finite differences
  const r = gradcheck(([x]) => (calls++ === 1 ? x.relu() : x.abs()), [R(6)]);
  assert.ok(r.failures.length > 0);
});

test('gradcheck summary', (t) => {
  const worst = Object.entries(summary).sort((a, b) => b[1] - a[1])[0];
  t.diagnostic(`largest max-abs error over ${Object.keys(summary).length} ops: ${worst?.[0]} ${worst?.[1].toExponential(2)}`);
});
