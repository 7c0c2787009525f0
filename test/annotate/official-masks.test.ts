import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotatePair } from '../../src/annotate/index.js';
import { readGray } from '../../src/image/index.js';
import { annotationFixture } from '../helpers/annotation-fixture.js';

const { pairs } = await annotationFixture();

test('the fixture has pairs of both outcomes', () => {
  assert.ok(pairs.some((p) => p.official === 'mask') && pairs.some((p) => p.official === 'raised'));
  for (const p of pairs) assert.equal(p.mask === null, p.official === 'raised', p.name);
});

for (const pair of pairs) {
  test(`annotation of ${pair.name} matches the official outcome pixel for pixel`, async () => {
    const result = await annotatePair(pair.real, pair.fake);
    if (pair.official === 'raised') {
      assert.equal(result.status, 'skipped');
      assert.ok(result.status === 'skipped' && ['no-change', 'no-contour'].includes(result.reason) && result.message.length > 0);
      return;
    }
    assert.equal(result.status, 'annotated', result.status === 'skipped' ? result.message : '');
    if (result.status !== 'annotated') return;
    const [official, officialDiff] = [await readGray(pair.mask!), await readGray(pair.diff!)];
    assert.deepEqual([result.mask.width, result.mask.height, result.mask.channels], [official.width, official.height, 1]);
    assert.equal(result.mask.data.filter((v, i) => v !== official.data[i]).length, 0, 'mask pixels differ');
    assert.equal(result.diff.data.filter((v, i) => v !== officialDiff.data[i]).length, 0, 'diff pixels differ');
  });
}
