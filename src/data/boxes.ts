// Pure box arithmetic (no Node imports), so the browser page computes the same crops as the CLI.

/** A square crop box in frame pixels (integers; always inside the frame). */
export interface CropBox {
  x: number;
  y: number;
  size: number;
}

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
