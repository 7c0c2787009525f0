import { test } from 'node:test';
import assert from 'node:assert/strict';
import { methodDefinition, weightedTotal, type NamedLosses } from '../../src/models/index.js';
import { MvssConfigSchema } from '../../src/models/mvss/index.js';
import { torch } from '../../src/torch/index.js';

const scalar = (v: number) => torch.tensor([v], [1], 'float64').reshape([]);

test("weightedTotal: multipliers of 1 give the method's own total itself; others scale each term over the method's weighting", () => {
  const mvss = methodDefinition('mvss');
  const config = MvssConfigSchema.parse({}); // α 0.16, β 0.04
  const losses: NamedLosses = { seg: scalar(0.5), cls: scalar(0.25), edge: scalar(2), total: scalar(123) };
  assert.equal(weightedTotal(losses, mvss, config, { seg: 1, cls: 1, edge: 1 }), losses.total);
  const want = 0.16 * 0.5 + 0.04 * 0.25 + 3 * (1 - 0.16 - 0.04) * 2; // hand-computed
  assert.ok(Math.abs(weightedTotal(losses, mvss, config, { edge: 3 }).item() - want) < 1e-12);
  // MSCCNet: plain sum, and a term the model did not return (no aux loss) is left out
  const msccnet = methodDefinition('msccnet');
  const l2: NamedLosses = { img_cls: scalar(1), pix_cls_mask: scalar(4), total: scalar(5) };
  assert.equal(weightedTotal(l2, msccnet, {}, { img_cls: 2, pix_cls_map: 7, pix_cls_mask: 1 }).item(), 6);
});
