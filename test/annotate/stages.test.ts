import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationStages } from '../../src/annotate/index.js';
import { readGray } from '../../src/image/index.js';
import { annotationFixture } from '../helpers/annotation-fixture.js';
import { readSafetensors } from '../helpers/safetensors.js';

const { pairs } = await annotationFixture();
const withStages = pairs.filter((p) => p.stages !== null);

test('the fixture has stage files', () => assert.ok(withStages.length > 0));

for (const pair of withStages) {
  test(`every stage of ${pair.name} matches the official intermediates (floats to 1e-6, bytes exactly)`, async () => {
    const { tensors, metadata } = await readSafetensors(pair.stages!);
    const s = await annotationStages(await readGray(pair.real), await readGray(pair.fake));
    assert.equal(s.result.status, 'annotated');
    const ours: Record<string, ArrayLike<number> | undefined> = {
      ssim_map_f64: s.ssim.data,
      diff_norm_blur5_f64: s.diffBlurred?.data,
      factor_u8: s.factor?.data,
      M_u8: s.changed?.data,
      dilated_u8: s.dilated?.data,
      hull_filled_u8: s.hullFilled?.data,
      eroded_u8: s.eroded?.data,
      blur7_f64: s.maskBlurred?.data,
      final_mask_u8: s.result.status === 'annotated' ? s.result.mask.data : undefined,
    };
    for (const [name, values] of Object.entries(ours)) {
      const official = tensors.get(name);
      assert.ok(official !== undefined && values !== undefined, `stage ${name} present on both sides`);
      assert.deepEqual(official.shape, [pair.height, pair.width], name);
      let maxErr = 0;
      for (let i = 0; i < official.data.length; i++) maxErr = Math.max(maxErr, Math.abs(Number(official.data[i]) - values[i]));
      assert.ok(official.dtype === 'F64' ? maxErr <= 1e-6 : maxErr === 0, `stage ${name}: max error ${maxErr}`);
    }
    const contours = JSON.parse(metadata.contours) as {
      contour_num_points: number[];
      kept_contours: number[];
      hierarchy: number[][];
      final_hull_vertices: [number, number][];
    };
    assert.deepEqual(
      s.contours?.points.map((p) => p.length / 2),
      contours.contour_num_points,
    );
    assert.deepEqual(s.keptContours, contours.kept_contours);
    assert.deepEqual(s.contours?.hierarchy, contours.hierarchy);
    const hull = Array.from({ length: s.hull!.length / 2 }, (_, i) => `${s.hull![2 * i]},${s.hull![2 * i + 1]}`).sort();
    assert.deepEqual(hull, contours.final_hull_vertices.map(([x, y]) => `${x},${y}`).sort());
  });
}
