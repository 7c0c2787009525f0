import { loadOpenCv } from '../../src/image/index.js';

/** The opencv.js calls the tests use as independent truth (beyond the library's own typed subset). */
export interface CvMat {
  rows: number;
  cols: number;
  data: Uint8Array;
  data64F: Float64Array;
  delete(): void;
}
export interface TestCv {
  Mat: new (rows: number, cols: number, type: number) => CvMat;
  Size: new (w: number, h: number) => unknown;
  Point: new (x: number, y: number) => unknown;
  Scalar: new (...v: number[]) => unknown;
  CV_8UC1: number;
  CV_8UC3: number;
  CV_64FC1: number;
  MORPH_ELLIPSE: number;
  BORDER_CONSTANT: number;
  BORDER_DEFAULT: number;
  COLOR_RGB2GRAY: number;
  getStructuringElement(shape: number, size: unknown): CvMat;
  dilate(src: CvMat, dst: CvMat, kernel: CvMat, anchor: unknown, iterations: number): void;
  erode(src: CvMat, dst: CvMat, kernel: CvMat, anchor: unknown, iterations: number): void;
  GaussianBlur(src: CvMat, dst: CvMat, size: unknown, sigma: number): void;
  cvtColor(src: CvMat, dst: CvMat, code: number): void;
}

/** Wrapped in `{ cv }`: the module is an Emscripten thenable, which an async function must never return bare. */
export async function testCv(): Promise<{ cv: TestCv }> {
  const { cv } = await loadOpenCv();
  return { cv: cv as unknown as TestCv };
}

/** A seeded generator (mulberry32) for reproducible random test inputs. */
export { seededRandom as seeded } from '../../src/data/synthetic/geometry.js';
