import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import sharp from 'sharp';
import { loadFaceDetector } from '../../src/data/faces.js';
import {
  forge,
  FORGERY_KINDS,
  jpegRoundTrip,
  sampleForgeryParams,
  samplePhotos,
  seededRandom,
  selfBlend,
  talkingFaceVideos,
  type FaceImage,
} from '../../src/data/synthetic/index.js';

const [W, H] = [360, 288];
async function face(file: string): Promise<FaceImage> {
  const { data } = await sharp(file).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { width: W, height: H, data: new Uint8Array(data) };
  const found = (await (await loadFaceDetector()).detect(image.data, W, H))[0];
  assert.ok(found, `${file}: no face`);
  return { image, landmarks: found.landmarks };
}

test('synthetic forgeries change exactly the pixels their mask says, deterministically', async () => {
  const target = await face(join(dirname(talkingFaceVideos().franck), 'franck_01829.jpg'));
  const donor = await face(samplePhotos()[0]!);
  for (const kind of FORGERY_KINDS) {
    const params = sampleForgeryParams(kind, seededRandom(11));
    assert.deepEqual(params, sampleForgeryParams(kind, seededRandom(11)), 'same seed, same parameters');
    const f = forge(kind, target, donor, params);
    let outsideChanged = 0;
    let inside = 0;
    let insideDiff = 0;
    let support = 0;
    for (let i = 0; i < W * H; i++) {
      const d = [0, 1, 2].reduce((s, c) => s + Math.abs(f.fake.data[i * 3 + c]! - target.image.data[i * 3 + c]!), 0);
      if (f.alpha[i] === 0 && d > 0) outsideChanged++;
      if (f.alpha[i]! > 0) support++;
      if (f.alpha[i]! > 0.9) {
        inside++;
        insideDiff += d / 3;
      }
    }
    assert.equal(outsideChanged, 0, `${kind}: pixels outside the mask changed`);
    assert.ok(support > 0.01 * W * H && support < 0.5 * W * H, `${kind}: mask covers ${support} px`);
    assert.ok(insideDiff / inside > 2, `${kind}: mean change inside the mask only ${(insideDiff / inside).toFixed(2)}`);
  }
});

test('JPEG compression of a fake perturbs it slightly everywhere', async () => {
  const target = await face(join(dirname(talkingFaceVideos().franck), 'franck_01829.jpg'));
  const fake = selfBlend(target, sampleForgeryParams('self-blend', seededRandom(3))).fake;
  const q75 = await jpegRoundTrip(fake, 75);
  const mad = fake.data.reduce((s, v, i) => s + Math.abs(v - q75.data[i]!), 0) / fake.data.length;
  assert.ok(mad > 0.3 && mad < 6, `mean abs JPEG error ${mad}`);
});
