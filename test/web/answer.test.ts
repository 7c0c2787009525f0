import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { jsonAnswer } from '../../src/web/answer.js';

test('jsonAnswer streams the JSON of the analysis with base64 data URLs, byte for byte, and says its length', async () => {
  // sizes around the 786,432-byte base64 piece: not a multiple of 3, one piece, several pieces
  const pictures = { mask: randomBytes(1_000_001), heatmap: randomBytes(786_432), overlay: randomBytes(2) };
  const analysis = { ok: true, score: 0.25, label: 'real', faces: [{ note: 'quotes " and \\ escaped' }] };
  // serialised in an order other than the pictures' own, as a response schema may
  const serialize = (answer: object): string => {
    const { images, ...rest } = answer as { images: Record<string, string> };
    return JSON.stringify({ images: { overlay: images.overlay, mask: images.mask, heatmap: images.heatmap }, ...rest });
  };
  const { body, length } = jsonAnswer(serialize, analysis, pictures);
  const bytes = await buffer(body);
  const url = (b: Buffer): string => `data:image/png;base64,${b.toString('base64')}`;
  const expected = JSON.stringify({ images: { overlay: url(pictures.overlay), mask: url(pictures.mask), heatmap: url(pictures.heatmap) }, ...analysis });
  assert.equal(bytes.length, length);
  assert.equal(bytes.toString('utf8'), expected);
  const mask = await buffer(jsonAnswer(JSON.stringify, analysis, { mask: randomBytes(5) }).body);
  assert.deepEqual(Object.keys((JSON.parse(mask.toString()) as { images: object }).images), ['mask']);
});
