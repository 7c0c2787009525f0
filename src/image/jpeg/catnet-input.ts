/**
 * CAT-Net's input, as the official `Splicing/data/AbstractDataset.py:_create_tensor` builds it with
 * blocks ('RGB', 'DCTvol', 'qtable') and DCT_channels = 1 (`experiments/CAT_full.yaml`): the decoded
 * RGB at ±1, the 21-channel one-hot volume of the Y component's quantised coefficients clipped at
 * 20, both on the 8-pixel grid, and the Y quantisation table. Pure TypeScript on typed arrays, so
 * the page builds the same input as Node.
 */
import { ArgumentError } from '../../errors.js';
import type { Image } from '../image.js';
import type { JpegCoefficients } from './coefficients.js';
import { JpegError } from './error.js';

/** T: |coefficient| ≥ T shares the last channel (the official `T = 20`). */
export const CATNET_DCT_CLIP = 20;
/** 3 RGB channels + T + 1 DCT-volume channels. */
export const CATNET_INPUT_CHANNELS = 3 + CATNET_DCT_CLIP + 1;

export interface CatnetInputOptions {
  /**
   * [height, width] of the crop, multiples of 8. Default: the smallest 8-pixel grid that holds the
   * image, (8·⌈h/8⌉, 8·⌈w/8⌉), as official inference (`crop_size=None, grid_crop=True`) uses;
   * training uses 512×512.
   */
  readonly cropSize?: readonly [height: number, width: number];
  /**
   * [row, col] of the crop's top-left corner: multiples of 8 on the image (at most the last grid
   * row/column that holds a pixel); the crop may reach past the image, which is padded as the
   * official pad. Default [0, 0]; official training draws `(random.randint(0, max(h − crop_h, 0))
   * // 8) * 8` and likewise for the column; inference tiles (`catnetTileOrigins`).
   */
  readonly cropOrigin?: readonly [row: number, col: number];
}

export interface CatnetInput {
  readonly height: number;
  readonly width: number;
  /**
   * Float32 [24, height, width]: channels 0–2 = (RGB − 127.5) / 127.5, 0 where the crop lies past
   * the image (padded with 127.5); channels 3–23 = the DCT volume, channel 3 + min(|c|, 20) = 1 for
   * the Y coefficient c at that position (0 past the coefficient array).
   */
  readonly x: Float32Array;
  /** Float32 [1, 8, 8]: the Y quantisation table, natural order */
  readonly qtable: Float32Array;
}

/**
 * CAT-Net's input for one JPEG: `rgb` is its decoded pixels (3 channels, the JPEG's size; PIL's
 * `convert('RGB')` in the official code, which sharp's decode equals), `jpeg` its coefficients.
 * The pixels must be in the stored orientation, as PIL gives them and as the coefficients are:
 * not turned by EXIF orientation (sharp without `.rotate()`, not `decodeImage`).
 */
export function catnetInput(rgb: Image, jpeg: JpegCoefficients, options: CatnetInputOptions = {}): CatnetInput {
  const [h, w] = [jpeg.height, jpeg.width];
  if (rgb.channels !== 3 || rgb.width !== w || rgb.height !== h) {
    throw new ArgumentError('rgb', `the JPEG's pixels, ${w}×${h}×3`, `${rgb.width}×${rgb.height}×${rgb.channels}`, 'pass the image decoded from the same file');
  }
  const y = jpeg.components[0];
  const frameH = Math.max(...jpeg.components.map((c) => c.h));
  const frameV = Math.max(...jpeg.components.map((c) => c.v));
  if (y.h !== frameH || y.v !== frameV) {
    // jpegio's Y array would then be smaller than the image, and the official tensors would not stack
    throw new JpegError(
      'unsupported',
      `the first component is subsampled (${y.h}×${y.v} of ${frameH}×${frameV}), so its DCT grid does not cover the image`,
      're-encode it as a baseline JPEG',
    );
  }
  const [height, width] = options.cropSize ?? [8 * Math.ceil(h / 8), 8 * Math.ceil(w / 8)];
  if (!(height > 0 && width > 0 && height % 8 === 0 && width % 8 === 0)) {
    throw new ArgumentError('cropSize', 'positive multiples of 8 (the 8-pixel grid)', options.cropSize);
  }
  const [row0, col0] = options.cropOrigin ?? [0, 0];
  const [maxRow, maxCol] = [8 * Math.floor((h - 1) / 8), 8 * Math.floor((w - 1) / 8)];
  if (!(row0 >= 0 && col0 >= 0 && row0 % 8 === 0 && col0 % 8 === 0 && row0 <= maxRow && col0 <= maxCol)) {
    throw new ArgumentError('cropOrigin', `multiples of 8 within [0, ${maxRow}] × [0, ${maxCol}]`, options.cropOrigin);
  }

  const plane = height * width;
  const x = new Float32Array(CATNET_INPUT_CHANNELS * plane);
  // RGB: the official pads with 127.5 (→ 0) before cropping, so only the image's pixels are written
  for (let r = 0; r < Math.min(height, h - row0); r++) {
    for (let c = 0; c < Math.min(width, w - col0); c++) {
      const src = 3 * ((row0 + r) * w + col0 + c);
      const at = r * width + c;
      for (let ch = 0; ch < 3; ch++) x[ch * plane + at] = (rgb.data[src + ch] - 127.5) / 127.5;
    }
  }
  // DCT volume: coefficients past the Y array (padding) are 0, which is channel 3
  const coefRows = 8 * y.heightInBlocks;
  const coefCols = 8 * y.widthInBlocks;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const [sr, sc] = [row0 + r, col0 + c];
      const coef = sr < coefRows && sc < coefCols ? y.coefficients[sr * coefCols + sc] : 0;
      x[(3 + Math.min(Math.abs(coef), CATNET_DCT_CLIP)) * plane + r * width + c] = 1;
    }
  }
  // jpegio's quant_tables[comp_info[0].quant_tbl_no]: the slot as the file leaves it (defined, since Y's scan latched it)
  return { height, width, x, qtable: Float32Array.from(jpeg.quantTables[y.quantTableIndex]!) };
}

/** A JPEG as CAT-Net reads it: its decoded pixels (stored orientation, 3 channels) and its coefficients. */
export interface JpegSource {
  readonly rgb: Image;
  readonly jpeg: JpegCoefficients;
}

/**
 * Top-left corners [row, col] of the side×side tiles that cover the rectangle (x, y, width,
 * height) of an image on its 8-pixel grid: the rectangle's corner rounded down to the grid, then
 * steps of `side`. A method that reads a JPEG's coefficients cannot resize them, so inference runs
 * such a method at the file's own resolution, tile by tile (the last tiles padded past the image).
 */
export function catnetTileOrigins(box: { x: number; y: number; width: number; height: number }, side: number): [row: number, col: number][] {
  if (!(Number.isInteger(side) && side > 0 && side % 8 === 0)) throw new ArgumentError('side', 'a positive multiple of 8', side);
  const [row0, col0] = [8 * Math.floor(box.y / 8), 8 * Math.floor(box.x / 8)];
  const out: [number, number][] = [];
  for (let r = row0; r < box.y + box.height; r += side) for (let c = col0; c < box.x + box.width; c += side) out.push([r, c]);
  return out;
}

/** CAT-Net's inputs after the image (the ONNX graph inputs and `forwardWith`'s aux keys), with their per-sample dims at a side. */
export const CATNET_AUX_INPUTS: readonly { readonly name: string; dims(side: number): number[] }[] = [
  { name: 'dctVolume', dims: (side) => [CATNET_DCT_CLIP + 1, side, side] },
  { name: 'qtable', dims: () => [1, 8, 8] },
];

/**
 * One batch of side×side tiles of a JPEG at the given origins (`catnetTileOrigins`): the image
 * [n, 3, side, side] at ±1 and the auxiliary inputs by name (`dctVolume` [n, 21, side, side], `qtable` [n, 1, 8, 8]).
 */
export function catnetTileBatch(
  source: JpegSource,
  origins: readonly (readonly [number, number])[],
  side: number,
): { image: Float32Array; aux: Record<string, Float32Array> } {
  const plane = side * side;
  const n = origins.length;
  const image = new Float32Array(n * 3 * plane);
  const dctVolume = new Float32Array(n * (CATNET_DCT_CLIP + 1) * plane);
  const qtable = new Float32Array(n * 64);
  origins.forEach(([row, col], i) => {
    const t = catnetInput(source.rgb, source.jpeg, { cropSize: [side, side], cropOrigin: [row, col] });
    image.set(t.x.subarray(0, 3 * plane), i * 3 * plane);
    dctVolume.set(t.x.subarray(3 * plane), i * (CATNET_DCT_CLIP + 1) * plane);
    qtable.set(t.qtable, i * 64);
  });
  return { image, aux: { dctVolume, qtable } };
}
