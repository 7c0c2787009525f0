import sharp from 'sharp';

/** A square crop box in frame pixels (integers; always inside the frame). */
export interface CropBox { x: number; y: number; size: number }

/**
 * Square box of side `scale` × max(w, h) around the detector box's centre, as FF++'s
 * detect_from_video does (1.3 by default). It is shifted to lie inside the frame, and shrunk
 * only when the frame is smaller than the square.
 */
export function enlargeBox(box: readonly [number, number, number, number], scale: number, width: number, height: number): CropBox {
  const [bx, by, bw, bh] = box;
  const size = Math.max(1, Math.min(Math.round(Math.max(bw, bh) * scale), width, height));
  const cx = bx + bw / 2;
  const cy = by + bh / 2;
  const x = Math.min(Math.max(Math.round(cx - size / 2), 0), width - size);
  const y = Math.min(Math.max(Math.round(cy - size / 2), 0), height - size);
  return { x, y, size };
}

/** PNG of the box cut out of an RGB24 frame, optionally resized to `side` (bilinear). */
export async function cropToPng(rgb: Buffer, width: number, height: number, box: CropBox, side?: number): Promise<Buffer> {
  let img = sharp(rgb, { raw: { width, height, channels: 3 } }).extract({ left: box.x, top: box.y, width: box.size, height: box.size });
  if (side !== undefined && side !== box.size) {
    // Materialise the crop first: sharp would otherwise resize before extracting.
    img = sharp(await img.raw().toBuffer(), { raw: { width: box.size, height: box.size, channels: 3 } }).resize(side, side, { kernel: 'linear' });
  }
  return img.png({ compressionLevel: 6 }).toBuffer();
}
