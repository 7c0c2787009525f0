import sharp from 'sharp';
import type { RgbImage } from './geometry.js';

/** The image after a JPEG encode/decode at `quality` (sharp/mozjpeg, 4:2:0), as a compressed fake or real would be. */
export async function jpegRoundTrip(image: RgbImage, quality: number): Promise<RgbImage> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  const jpeg = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), { raw })
    .jpeg({ quality })
    .toBuffer();
  const { data } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: image.width, height: image.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
