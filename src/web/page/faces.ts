/**
 * Face detection in the page with the pipeline's own detector: face-api (SSD-MobileNetV1 +
 * landmarks, same package and weights as `src/data/faces.ts`) on tfjs's wasm backend, so the
 * boxes, and therefore the crops, are those the server and the CLI find.
 */
import * as faceapi from '@vladmandic/face-api/dist/face-api.esm-nobundle.js';
import * as tf from '@tensorflow/tfjs/dist/index.js';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm/dist/index.js';
import type { DetectedFace } from '../../infer/regions.js';

let ready: Promise<void> | undefined;

async function load(base: string): Promise<void> {
  setWasmPaths(`${base}tfjs/`);
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromUri(`${base}face-api/`);
  await faceapi.nets.faceLandmark68Net.loadFromUri(`${base}face-api/`);
}

/** Faces in an RGB image, highest score first (minConfidence 0.5, as `loadFaceDetector`). */
export async function detectFaces(rgb: Uint8Array, width: number, height: number, base: string): Promise<DetectedFace[]> {
  ready ??= load(base);
  await ready;
  const input = faceapi.tf.tensor3d(rgb, [height, width, 3], 'int32');
  try {
    const results = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 })).withFaceLandmarks();
    return results
      .map((r): DetectedFace => ({ score: r.detection.score, box: [r.detection.box.x, r.detection.box.y, r.detection.box.width, r.detection.box.height] }))
      .sort((a, b) => b.score - a.score);
  } finally {
    input.dispose();
  }
}
