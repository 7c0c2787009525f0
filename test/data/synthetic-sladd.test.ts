import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  seededRandom,
  sladdColourTransfer,
  sladdForgery,
  sladdKeyPoints,
  sladdRegionMask,
  type FaceImage,
  type Point,
} from '../../src/data/synthetic/index.js';
import { ArgumentError } from '../../src/errors.js';

const S = 256;

/** 68 landmarks with the points SLADD reads placed by hand (eyes 36/39 and 42/45, nose 30/33, mouth 48/54); the rest at the face centre. */
function landmarks(dx = 0, dy = 0): Point[] {
  const l: Point[] = Array.from({ length: 68 }, (): Point => [128 + dx, 140 + dy]);
  const put = (i: number, x: number, y: number) => (l[i] = [x + dx, y + dy]);
  put(36, 70, 100);
  put(39, 110, 100);
  put(42, 146, 100);
  put(45, 186, 100);
  put(30, 128, 140);
  put(33, 128, 150);
  put(48, 98, 190);
  put(54, 158, 190);
  return l;
}

/** A textured face-sized image: smooth gradients (real) or a brighter, differently textured one (fake). */
function face(kind: 'real' | 'fake', dx = 0, dy = 0): FaceImage {
  const data = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      for (let c = 0; c < 3; c++)
        data[(y * S + x) * 3 + c] =
          kind === 'real' ? 60 + ((x + 2 * y + 40 * c) % 80) : 150 + Math.round(60 * Math.sin((x - dx) / 7 + c) * Math.cos((y - dy) / 5));
  return { image: { width: S, height: S, data }, landmarks: landmarks(dx, dy) };
}

const at = (m: Uint8Array, [x, y]: Point) => m[y * S + x];

test('region masks: the dilated landmark lines of synthesizer.parse (left eye, mouth, the union of region 9)', async () => {
  const keys = sladdKeyPoints(landmarks());
  assert.deepEqual(keys, [
    [90, 100],
    [166, 100],
    [128, 150],
    [98, 190],
    [158, 190],
    [70, 100],
    [110, 100],
    [146, 100],
    [186, 100],
  ]);
  // left eye: line 36 → 39 (40 px), dilated (40 // 4)·4 = 40 times with the cross: city-block radius 40
  const leftEye = await sladdRegionMask(0, keys, S, S);
  assert.equal(at(leftEye, [90, 100]), 1);
  assert.equal(at(leftEye, [90, 140]), 1, '40 below the line');
  assert.equal(at(leftEye, [90, 145]), 0, '45 below the line');
  assert.equal(at(leftEye, [186, 100]), 0, 'not the right eye');
  // mouth: 60 px, dilated 60 // 3 = 20 times
  const mouth = await sladdRegionMask(4, keys, S, S);
  assert.equal(at(mouth, [128, 190]), 1);
  assert.equal(at(mouth, [128, 210]), 1);
  assert.equal(at(mouth, [128, 216]), 0);
  assert.equal(at(mouth, [90, 100]), 0, 'not an eye');
  const all = await sladdRegionMask(9, keys, S, S);
  const parts = await Promise.all([2, 3, 4].map((r) => sladdRegionMask(r, keys, S, S)));
  for (let i = 0; i < all.length; i++) assert.equal(all[i], parts[0][i] | parts[1][i] | parts[2][i]);
  await assert.rejects(sladdRegionMask(10, keys, S, S), ArgumentError);
});

test('forgeries of each blend type: the mask covers the chosen landmark region of the real face, and only masked pixels change', async () => {
  const real = face('real');
  const fake = face('fake', 6, -4); // the fake face sits elsewhere in its frame: alignment brings it onto the real one
  for (const [type, region, seed] of [
    [0, 4, 1],
    [1, 3, 2],
    [2, 4, 3],
  ] as const) {
    const out = await sladdForgery(real, fake, { region, type, mag: 1 }, seededRandom(seed));
    assert.ok(out.forged, `type ${type}: forged`);
    const centre: Point = region === 4 ? [128, 190] : [128, 125]; // mouth centre; middle of the nose line
    assert.equal(at(out.mask, centre), 1, `type ${type}: the mask covers the ${region === 4 ? 'mouth' : 'nose'}`);
    assert.equal(at(out.mask, [70, 60]), 0, `type ${type}: nothing far above the eyes`);
    let changed = 0;
    for (let i = 0; i < S * S; i++) {
      const differs = [0, 1, 2].some((c) => out.image.data[i * 3 + c] !== real.image.data[i * 3 + c]);
      if (differs) {
        changed++;
        assert.equal(out.mask[i], 1, `type ${type}: pixel ${i} changed outside the mask`);
      }
    }
    assert.ok(changed > 200, `type ${type}: ${changed} pixels changed`);
    // the detector's 16² target (cv2 cubic of the uint8 mask) marks the region's cell
    assert.equal(out.mask16[Math.floor(centre[1] / 16) * 16 + Math.floor(centre[0] / 16)], 1);
    assert.equal(out.mask16[0], 0);
  }
  await assert.rejects(sladdForgery(real, fake, { region: 0, type: 3, mag: 1 }, seededRandom(1)), ArgumentError);
});

test('colour transfers towards the real face inside the mask: rct-fs and avg-align move the masked mean, faceswap the local colour', async () => {
  const real = { image: { width: S, height: S, data: new Uint8Array(S * S * 3).fill(0) }, landmarks: landmarks() };
  const fake = new Uint8Array(S * S * 3);
  for (let i = 0; i < S * S; i++)
    [real.image.data[i * 3], real.image.data[i * 3 + 1], real.image.data[i * 3 + 2], fake[i * 3], fake[i * 3 + 1], fake[i * 3 + 2]] = [
      180, 120, 90, 100, 100, 100,
    ];
  const mask = new Uint8Array(S * S);
  for (let y = 100; y < 160; y++) for (let x = 90; x < 170; x++) mask[y * S + x] = 1;
  const centre = (130 * S + 130) * 3;
  // uniform colours: the mean shift and the face-swap ratio both give the real colour inside
  for (const mode of ['rct-fs', 'faceswap'] as const) {
    const out = await sladdColourTransfer(mode, fake, real, mask);
    assert.deepEqual([...out.subarray(centre, centre + 3)], [180, 120, 90], mode);
  }
  // avg-align shifts by the difference of the masked means over the whole image: (80, 20, −10)·|mask| / S²
  const out = await sladdColourTransfer('avg-align', fake, real, mask);
  const area = (60 * 80) / (S * S);
  assert.deepEqual(
    [...out.subarray(centre, centre + 3)],
    [80, 20, -10].map((d) => Math.trunc(255 * Math.min(Math.max(100 / 255 + (d / 255) * area, 0), 1))),
  );
  assert.equal(out[0], 5, 'outside the mask: 0 + the red shift 80 · 4800 / 65536 = 5.86, truncated');
});
