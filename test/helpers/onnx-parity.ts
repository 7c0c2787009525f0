import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../../src/torch/index.js';

/** max |got − want| over max |want|: the export-parity measure. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/**
 * Runs an exported method on `feeds` (input name → tensor) in onnxruntime and measures its
 * `image_logits` and `mask_logits` against libtorch's forward on the same tensors (shapes asserted).
 */
export async function onnxLogitErrors(
  bytes: Uint8Array,
  feeds: Readonly<Record<string, Tensor>>,
  ref: { readonly imgLogits: Tensor; readonly maskLogits: Tensor },
): Promise<{ errors: Record<'image_logits' | 'mask_logits', number>; inputNames: readonly string[] }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const inputNames = [...session.inputNames];
  const out = await session.run(
    Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.toTypedArray() as Float32Array, t.shape)])),
  );
  await session.release();
  const errors = { image_logits: 0, mask_logits: 0 };
  for (const [name, r] of [
    ['image_logits', ref.imgLogits],
    ['mask_logits', ref.maskLogits],
  ] as const) {
    assert.deepEqual(out[name].dims, r.shape, `${name} shape`);
    errors[name] = relativeError(out[name].data as Float32Array, r.toTypedArray() as Float32Array);
  }
  return { errors, inputNames };
}
