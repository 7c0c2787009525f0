import sharp from 'sharp';

import type { CropBox } from './boxes.js';

export { enlargeBox, type CropBox } from './boxes.js';

/** PNG of the box cut out of an RGB24 frame, optionally resized to `side` (bilinear). */
export async function cropToPng(rgb: Buffer, width: number, height: number, box: CropBox, side?: number): Promise<Buffer> {
  let img = sharp(rgb, { raw: { width, height, channels: 3 } }).extract({ left: box.x, top: box.y, width: box.size, height: box.size });
  if (side !== undefined && side !== box.size) {
    // Materialise the crop first: sharp would otherwise resize before extracting.
    img = sharp(await img.raw().toBuffer(), { raw: { width: box.size, height: box.size, channels: 3 } }).resize(side, side, { kernel: 'linear' });
  }
  return img.png({ compressionLevel: 6 }).toBuffer();
}
