import { createRequire } from 'node:module';
import { ArgumentError } from '../errors.js';
import type { Image } from './image.js';
import { assertSingleChannel, makeImage } from './image.js';

/** The few opencv.js (4.12, wasm) objects we use (annotation contours and hulls; the training transforms' resize and colour conversion), typed structurally. */
interface CvMat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
  readonly data32S: Int32Array;
  delete(): void;
}
interface CvMatVector {
  size(): number;
  get(i: number): CvMat;
  delete(): void;
}
interface CvSize {
  readonly width: number;
  readonly height: number;
}
export interface OpenCv {
  Mat: { new (): CvMat; new (rows: number, cols: number, type: number): CvMat };
  Size: new (width: number, height: number) => CvSize;
  MatVector: new () => CvMatVector;
  Scalar: new (...values: number[]) => unknown;
  CV_8UC1: number;
  CV_8UC3: number;
  CV_32SC2: number;
  INTER_LINEAR: number;
  INTER_NEAREST: number;
  INTER_CUBIC: number;
  COLOR_RGB2HSV: number;
  COLOR_HSV2RGB: number;
  RETR_TREE: number;
  CHAIN_APPROX_SIMPLE: number;
  LINE_8: number;
  matFromArray(rows: number, cols: number, type: number, values: ArrayLike<number>): CvMat;
  findContours(image: CvMat, contours: CvMatVector, hierarchy: CvMat, mode: number, method: number): void;
  convexHull(points: CvMat, hull: CvMat, clockwise: boolean, returnPoints: boolean): void;
  fillConvexPoly(image: CvMat, points: CvMat, color: unknown, lineType: number, shift: number): void;
  resize(src: CvMat, dst: CvMat, size: CvSize, fx: number, fy: number, interpolation: number): void;
  cvtColor(src: CvMat, dst: CvMat, code: number): void;
  onRuntimeInitialized?: () => void;
}

let loading: Promise<{ cv: OpenCv }> | undefined;

/**
 * Loads opencv.js once per thread (≈0.2–0.9 s); the one place that does. The module object is an Emscripten thenable, so it must never
 * be awaited or returned from an async function itself (that hangs): it travels wrapped in `{ cv }`.
 */
export function loadOpenCv(): Promise<{ cv: OpenCv }> {
  loading ??= new Promise((resolve) => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv;
    if ((cv as { Mat?: unknown }).Mat !== undefined && typeof cv.findContours === 'function') resolve({ cv });
    else cv.onRuntimeInitialized = () => resolve({ cv });
  });
  return loading;
}

/** Contours as OpenCV returns them: points (x, y interleaved) and hierarchy rows [next, previous, first child, parent]. */
export interface Contours {
  readonly points: readonly Int32Array[];
  readonly hierarchy: readonly (readonly [number, number, number, number])[];
}

/**
 * `cv2.findContours(mask, RETR_TREE, CHAIN_APPROX_SIMPLE)` (OpenCV 4: outer and hole contours, pixels at the
 * image edge included). Nonzero pixels are foreground.
 */
export function findContours(cv: OpenCv, mask: Image): Contours {
  assertSingleChannel(mask, 'mask');
  const mat = new cv.Mat(mask.height, mask.width, cv.CV_8UC1);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  try {
    mat.data.set(mask.data);
    cv.findContours(mat, contours, hierarchy, cv.RETR_TREE, cv.CHAIN_APPROX_SIMPLE);
    const points: Int32Array[] = [];
    const tree: [number, number, number, number][] = [];
    for (let i = 0; i < contours.size(); i++) {
      const c = contours.get(i);
      points.push(c.data32S.slice());
      c.delete();
      const h = hierarchy.data32S;
      tree.push([h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]]);
    }
    return { points, hierarchy: tree };
  } finally {
    mat.delete();
    contours.delete();
    hierarchy.delete();
  }
}

/** `cv2.convexHull(points, clockwise=False)`: hull vertices (x, y interleaved) in OpenCV's order. */
export function convexHull(cv: OpenCv, points: Int32Array): Int32Array {
  if (points.length < 2 || points.length % 2 !== 0) {
    throw new ArgumentError('points', 'at least one (x, y) point', `${points.length} numbers`);
  }
  const input = cv.matFromArray(points.length / 2, 1, cv.CV_32SC2, points);
  const hull = new cv.Mat();
  try {
    cv.convexHull(input, hull, false, true);
    return hull.data32S.slice();
  } finally {
    input.delete();
    hull.delete();
  }
}

/** `cv2.fillConvexPoly(zeros, polygon, 255)` with lineType 8 (boundary included) on a width×height mask. */
export function fillConvexPoly(cv: OpenCv, width: number, height: number, polygon: Int32Array): Image {
  const mat = new cv.Mat(height, width, cv.CV_8UC1);
  const pts = cv.matFromArray(polygon.length / 2, 1, cv.CV_32SC2, polygon);
  try {
    mat.data.fill(0);
    cv.fillConvexPoly(mat, pts, new cv.Scalar(255), cv.LINE_8, 0);
    return makeImage(width, height, 1, mat.data.slice());
  } finally {
    mat.delete();
    pts.delete();
  }
}

/**
 * The training transforms' image operations, OpenCV's own so they match the reference's cv2 calls: the same
 * fixed-point INTER_LINEAR and the same uint8 HSV tables. Interleaved uint8 images in, new arrays out.
 */
export interface ImageOps {
  /** cv2.resize of an interleaved uint8 image with `channels` channels (1 or 3). */
  resize(src: Uint8Array, w: number, h: number, channels: 1 | 3, nw: number, nh: number, mode: 'linear' | 'cubic' | 'nearest'): Uint8Array;
  /** cv2.cvtColor(img, COLOR_RGB2HSV) or its inverse on a 3-channel uint8 image. */
  cvtColor(src: Uint8Array, w: number, h: number, code: 'RGB2HSV' | 'HSV2RGB'): Uint8Array;
}

/** Loads opencv.js (`loadOpenCv`) and returns the training transforms' operations. */
export async function loadImageOps(): Promise<ImageOps> {
  const { cv } = await loadOpenCv();
  const toMat = (src: Uint8Array, w: number, h: number, channels: 1 | 3): CvMat => {
    const m = new cv.Mat(h, w, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
    m.data.set(src);
    return m;
  };
  const take = (m: CvMat): Uint8Array => {
    const out = new Uint8Array(m.data);
    m.delete();
    return out;
  };
  return {
    resize(src, w, h, channels, nw, nh, mode) {
      if (nw === w && nh === h) return new Uint8Array(src);
      const a = toMat(src, w, h, channels);
      const b = new cv.Mat();
      cv.resize(a, b, new cv.Size(nw, nh), 0, 0, mode === 'linear' ? cv.INTER_LINEAR : mode === 'cubic' ? cv.INTER_CUBIC : cv.INTER_NEAREST);
      a.delete();
      return take(b);
    },
    cvtColor(src, w, h, code) {
      const a = toMat(src, w, h, 3);
      const b = new cv.Mat();
      cv.cvtColor(a, b, code === 'RGB2HSV' ? cv.COLOR_RGB2HSV : cv.COLOR_HSV2RGB);
      a.delete();
      return take(b);
    },
  };
}
