import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { annotatePair } from '../../src/annotate/index.js';
import type { Image } from '../../src/image/index.js';
import { encodePng, makeImage, readColor, readGray, rgbToGray } from '../../src/image/index.js';
import { annotationFixture } from '../helpers/annotation-fixture.js';
import { seeded } from '../helpers/opencv.js';

const { pairs } = await annotationFixture();
const annotated = pairs.filter((p) => p.official === 'mask');
const [first, other] = [annotated[0], annotated.find((p) => p.width !== annotated[0].width || p.height !== annotated[0].height)!];
const tmp = await mkdtemp(join(tmpdir(), 'msccnet-bad-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

async function officialMask(pair: (typeof pairs)[number]): Promise<Uint8Array> {
  return (await readGray(pair.mask!)).data;
}

test('a missing partner frame is skipped as missing-real / missing-fake', async () => {
  const r1 = await annotatePair(join(tmp, 'absent.png'), first.fake);
  assert.deepEqual([r1.status, r1.status === 'skipped' && r1.reason], ['skipped', 'missing-real']);
  const r2 = await annotatePair(first.real, join(tmp, 'absent.png'));
  assert.deepEqual([r2.status, r2.status === 'skipped' && r2.reason], ['skipped', 'missing-fake']);
});

test('a truncated or non-image file is skipped as unreadable', async () => {
  const bytes = await readFile(first.fake);
  await writeFile(join(tmp, 'truncated.png'), bytes.subarray(0, bytes.length >> 1));
  await writeFile(join(tmp, 'text.png'), 'not a png');
  for (const name of ['truncated.png', 'text.png']) {
    const r = await annotatePair(first.real, join(tmp, name));
    assert.deepEqual([r.status, r.status === 'skipped' && r.reason], ['skipped', 'unreadable'], name);
  }
});

test('real and fake of different sizes are skipped as size-mismatch', async () => {
  const r = await annotatePair(first.real, other.fake);
  assert.deepEqual([r.status, r.status === 'skipped' && r.reason], ['skipped', 'size-mismatch']);
});

test('pairs the official code raised on are skipped with the reason its trace shows', async () => {
  const raised = pairs.filter((p) => p.official === 'raised');
  assert.ok(raised.length > 0);
  for (const pair of raised) {
    // A constant 1 − SSIM is the identical-pair 0/0; otherwise no contour had enough points.
    const reason = pair.trace.diff_min === pair.trace.diff_max ? 'no-change' : 'no-contour';
    const r = await annotatePair(pair.real, pair.fake);
    assert.deepEqual([r.status, r.status === 'skipped' && r.reason], ['skipped', reason], pair.name);
  }
  const same = await annotatePair(first.real, first.real);
  assert.deepEqual([same.status, same.status === 'skipped' && same.reason], ['skipped', 'no-change']);
});

/** Writes `image` re-encoded by `variant` and returns the path. */
async function variantFile(name: string, png: Buffer): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, png);
  return path;
}

test('grey, RGBA and 16-bit PNG inputs give the official mask of the 8-bit colour pair (as cv2.imread reads them)', async () => {
  const rand = seeded(5);
  const variants: Record<string, (rgb: Image) => Promise<Buffer>> = {
    // 1-channel file of the OpenCV grey: imread replicates it, and grey(g, g, g) = g.
    grey: async (rgb) => encodePng(rgbToGray(rgb)),
    // Random alpha: imread drops it without compositing.
    rgba: async (rgb) => {
      const rgba = makeImage(rgb.width, rgb.height, 4);
      for (let i = 0; i < rgb.width * rgb.height; i++) {
        rgba.data.set(rgb.data.subarray(3 * i, 3 * i + 3), 4 * i);
        rgba.data[4 * i + 3] = Math.floor(rand() * 256);
      }
      return encodePng(rgba);
    },
    // 16-bit with random low bytes: imread keeps the high byte.
    rgb16: async (rgb) =>
      sharp(
        Uint16Array.from(rgb.data, (v) => v * 256 + Math.floor(rand() * 256)),
        { raw: { width: rgb.width, height: rgb.height, channels: 3 } },
      )
        .toColourspace('rgb16')
        .png()
        .toBuffer(),
  };
  for (const [kind, encode] of Object.entries(variants)) {
    const real = await variantFile(`${kind}_real.png`, await encode(await readColor(first.real)));
    const fake = await variantFile(`${kind}_fake.png`, await encode(await readColor(first.fake)));
    const r = await annotatePair(real, fake);
    assert.equal(r.status, 'annotated', kind);
    assert.deepEqual(r.status === 'annotated' && r.mask.data, await officialMask(first), kind);
  }
});
