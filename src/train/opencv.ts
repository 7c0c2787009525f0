/**
 * The few OpenCV functions the transforms need, from @techstark/opencv-js (OpenCV 4.12 compiled
 * to wasm): the reference resizes and converts colours with cv2, and these give the same
 * fixed-point INTER_LINEAR and the same uint8 HSV tables.
 */
interface CvMat {
  readonly data: Uint8Array;
  readonly rows: number;
  readonly cols: number;
  delete(): void;
}
interface CvSize { readonly width: number; readonly height: number }
interface Cv {
  Mat: new (rows?: number, cols?: number, type?: number) => CvMat;
  Size: new (width: number, height: number) => CvSize;
  CV_8UC1: number;
  CV_8UC3: number;
  INTER_LINEAR: number;
  INTER_NEAREST: number;
  COLOR_RGB2HSV: number;
  COLOR_HSV2RGB: number;
  resize(src: CvMat, dst: CvMat, size: CvSize, fx: number, fy: number, interpolation: number): void;
  cvtColor(src: CvMat, dst: CvMat, code: number): void;
}

let loading: Promise<{ cv: Cv }> | null = null;

async function load(): Promise<{ cv: Cv }> {
  const mod = (await import('@techstark/opencv-js')) as unknown as { default: Partial<Cv> };
  const cv = mod.default;
  // The Emscripten module is a thenable that resolves to itself, so it must never be awaited or
  // returned from an async function (it would never settle); `onRuntimeInitialized` may already
  // have fired. Poll for the runtime and hand the module out wrapped.
  const t0 = performance.now();
  while (typeof cv.Mat !== 'function') {
    if (performance.now() - t0 > 120_000) throw new Error('OpenCV (wasm) did not initialise within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { cv: cv as Cv };
}

/** Image operations backed by OpenCV; create once per thread with `openCv()`. */
export interface ImageOps {
  /** cv2.resize of an interleaved uint8 image with `channels` channels (1 or 3). */
  resize(src: Uint8Array, w: number, h: number, channels: 1 | 3, nw: number, nh: number, mode: 'linear' | 'nearest'): Uint8Array;
  /** cv2.cvtColor(img, COLOR_RGB2HSV) or its inverse on a 3-channel uint8 image. */
  cvtColor(src: Uint8Array, w: number, h: number, code: 'RGB2HSV' | 'HSV2RGB'): Uint8Array;
}

/** Loads OpenCV (≈2 s the first time in a thread) and returns the operations. */
export async function openCv(): Promise<ImageOps> {
  const { cv } = await (loading ??= load());
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
      cv.resize(a, b, new cv.Size(nw, nh), 0, 0, mode === 'linear' ? cv.INTER_LINEAR : cv.INTER_NEAREST);
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
