import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A detected face in pixel coordinates of the frame it was found in. */
export interface Face {
  score: number;
  /** Detector box, [x, y, w, h]. */
  box: [x: number, y: number, w: number, h: number];
  /** The 68 iBUG landmarks as [x, y] pairs. */
  landmarks: Array<[x: number, y: number]>;
}

export interface FaceDetector {
  /** Every face in an RGB (3 bytes per pixel, row-major) image, highest score first. */
  detect(rgb: Uint8Array, width: number, height: number): Promise<Face[]>;
}

export interface FaceDetectorOptions {
  /** SSD-MobileNetV1 score threshold; 0.5 is face-api's default. */
  minConfidence?: number;
}

// The slice of face-api's node-wasm build that we use (its bundled typings describe the browser build).
interface FaceApiPoint {
  x: number;
  y: number;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: FaceApiPoint[] };
}
interface FaceApiTensor {
  dispose(): void;
}
interface FaceApi {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    tensor3d(data: Uint8Array, shape: [number, number, number], dtype: 'int32'): FaceApiTensor;
    env(): { set(flag: string, value: boolean): void };
  };
  nets: { ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> }; faceLandmark68Net: { loadFromDisk(dir: string): Promise<void> } };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => object;
  detectAllFaces(input: FaceApiTensor, options: object): { withFaceLandmarks(): Promise<FaceApiResult[]> };
}

let loaded: Promise<FaceApi> | undefined;

/** face-api on the tfjs wasm backend with the weights shipped inside the package: nothing is downloaded. */
async function loadFaceApi(): Promise<FaceApi> {
  const require = createRequire(import.meta.url);
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void; setThreadsCount?(n: number): void };
  wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  return faceapi;
}

/** SSD-MobileNetV1 + 68 landmarks (face-api). Models load once per process and are shared. */
export async function loadFaceDetector(opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
  loaded ??= loadFaceApi();
  const faceapi = await loaded;
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: opts.minConfidence ?? 0.5 });
  return {
    async detect(rgb, width, height) {
      const input = faceapi.tf.tensor3d(rgb, [height, width, 3], 'int32');
      try {
        const results = await faceapi.detectAllFaces(input, options).withFaceLandmarks();
        return results
          .map((r): Face => ({
            score: r.detection.score,
            box: [r.detection.box.x, r.detection.box.y, r.detection.box.width, r.detection.box.height],
            landmarks: r.landmarks.positions.map((p): [number, number] => [p.x, p.y]),
          }))
          .sort((a, b) => b.score - a.score);
      } finally {
        input.dispose();
      }
    },
  };
}
