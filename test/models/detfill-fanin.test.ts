import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { readParityFolder, faninEntriesOf } from '../helpers/baseline-parity.js';
import { faninEntries, faninOf, faninValues, type FaninKind } from '../../src/models/detfill-fanin.js';
import { fmix32, fnv1a32, rawIndexHash, unitValue } from '../../src/models/detfill.js';
import { BatchNorm2d, Conv2d, Linear, Module, Parameter } from '../../src/nn/index.js';
import { torch } from '../../src/torch/index.js';

// The README's "Worked examples" table, every column checked: h, k0, k, u and the float32 value.
const readme = readFileSync(join(fixtureDir('baseline-parity'), 'README.md'), 'utf8');
const basis = Number(/Start with h = \*\*(\d+)\*\*/.exec(readme)![1]);
const minus = (s: string) => Number(s.replace('−', '-'));
interface Example {
  entry: string;
  shape: number[];
  kind: FaninKind;
  fanIn?: number;
  h: number;
  i: number;
  k0: number;
  k: number;
  u: number;
  value: number;
}
const examples: Example[] = [];
{
  const table = readme.slice(readme.indexOf('| folder | entry |'));
  let last: Omit<Example, 'i' | 'k0' | 'k' | 'u' | 'value'> | null = null;
  for (const line of table.split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const c = line
      .split('|')
      .slice(1, -1)
      .map((s) => s.trim());
    if (c[2] !== '') {
      const kind = /^([a-z_]+)/.exec(c[3])![1] as FaninKind;
      const fan = /fan_in (\d+)/.exec(c[3]);
      last = { entry: c[1].replace(/`/g, ''), shape: JSON.parse(c[2]) as number[], kind, ...(fan ? { fanIn: Number(fan[1]) } : {}), h: Number(c[4]) };
    }
    examples.push({ ...last!, i: Number(c[5]), k0: Number(c[6]), k: Number(c[7]), u: minus(c[8]), value: minus(c[9]) });
  }
}

test('detfill-fanin-v1 reproduces every worked example of the README', () => {
  assert.equal(examples.length, 18, 'the table has 18 rows');
  for (const e of examples) {
    const at = `${e.entry}[${e.i}]`;
    assert.equal(fnv1a32(e.entry, basis), e.h, `${at}: h`);
    assert.equal(rawIndexHash(e.i, e.h), e.k0, `${at}: k0`);
    assert.equal(fmix32(e.k0), e.k, `${at}: k`);
    assert.equal(unitValue(e.i, e.h), e.u, `${at}: u`);
    if (e.kind === 'weight_nd') assert.equal(faninOf(e.shape), e.fanIn, `${at}: fan_in`);
    const [v] = faninValues({ name: e.entry, shape: e.shape, kind: e.kind, fanIn: e.fanIn }, basis, e.i, 1);
    assert.equal(v, e.value, `${at}: value`);
  }
});

test('keys.json first/last values of every filled entry of the four part-1 folders are reproduced bit for bit', async () => {
  for (const name of ['mvss', 'multitask', 'ffd', 'ffd-xception_map']) {
    const folder = await readParityFolder(name);
    const entries = faninEntriesOf(folder.keys);
    folder.keys.entries.forEach((k, j) => {
      if (k.kind === 'keep') return;
      assert.equal(fnv1a32(k.name, folder.offsetBasis), k.fnv1a, `${name}/${k.name}: fnv1a`);
      const head = faninValues(entries[j], folder.offsetBasis, 0, Math.min(3, k.numel));
      assert.deepEqual(Array.from(head), k.first, `${name}/${k.name}: first`);
      assert.equal(faninValues(entries[j], folder.offsetBasis, k.numel - 1, 1)[0], k.last, `${name}/${k.name}: last`);
    });
  }
});

class Toy extends Module {
  readonly conv = new Conv2d(4, 6, 3);
  readonly bn = new BatchNorm2d(6);
  readonly fixed = new Conv2d(6, 1, 3, { bias: false });
  readonly fc = new Linear(6, 2);
  readonly gain = torch.tidy(() => new Parameter(torch.zeros([1])));
  constructor() {
    super();
    this.fixed.weight.requiresGrad = false;
  }
}

test('kinds follow the scheme rules in order: BN leaves, keep, weight_nd with numel/shape[0], small', () => {
  const toy = new Toy();
  const kinds = Object.fromEntries(faninEntries(toy, new Set(['fc.bias'])).map((e) => [e.name, [e.kind, e.fanIn]]));
  assert.deepEqual(kinds, {
    'conv.weight': ['weight_nd', 36],
    'conv.bias': ['small', undefined],
    'bn.weight': ['bn_weight', undefined],
    'bn.bias': ['bn_bias', undefined],
    'bn.running_mean': ['bn_running_mean', undefined],
    'bn.running_var': ['bn_running_var', undefined],
    'bn.num_batches_tracked': ['keep', undefined], // int64
    'fixed.weight': ['keep', undefined], // requires_grad False
    'fc.weight': ['weight_nd', 6],
    'fc.bias': ['keep', undefined], // named in keep
    gain: ['small', undefined],
  });
  assert.throws(() => faninEntries(toy, new Set(['nope.weight'])), /keep/);
  toy.dispose();
});
