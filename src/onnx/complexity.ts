/**
 * Parameters and multiply-adds of a registered method at a given input side, counted on the
 * graph its own forward records (the ONNX tracer in shape-only mode: nothing is computed, so
 * 512² of a 147 M-parameter model takes seconds). MACs = Σ over Conv, ConvTranspose, MatMul and
 * Gemm of (output elements × reduction length); element-wise ops, BN and pooling are not
 * counted, as the usual counters (thop, fvcore) do not count them either.
 */
import { backend, Tensor, withBackend, type Handle } from '../torch/index.js';
import { TracingBackend } from './tracer.js';
import type { Graph } from './graph.js';
import { methodForward, type MethodModel } from '../models/method.js';

export interface Complexity {
  /** every parameter, trainable or fixed (PyTorch's sum(p.numel() for p in model.parameters())) */
  parameters: number;
  /** multiply-adds of one eval forward at batch 1 */
  macs: number;
  inputSize: number;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function macsOf(graph: Graph): number {
  let macs = 0;
  for (const node of graph.nodes) {
    const input = (i: number) => graph.value(node.inputs[i]).shape;
    const out = graph.value(node.outputs[0]).shape;
    if (node.op === 'Conv') {
      const w = input(1);
      macs += numel(out) * numel(w.slice(1)); // out · (Cin/groups · kh · kw)
    } else if (node.op === 'ConvTranspose') {
      const w = input(1);
      macs += numel(input(0)) * numel(w.slice(1)); // in · (Cout/groups · kh · kw)
    } else if (node.op === 'MatMul') {
      const a = input(0);
      macs += numel(out) * a[a.length - 1];
    } else if (node.op === 'Gemm') {
      macs += numel(out) * input(0)[1];
    }
  }
  return macs;
}

/** Counts a method's parameters and its MACs at `inputSize`² (default: the method's own input size). */
export function methodComplexity(model: MethodModel, inputSize = model.preprocessing.inputSize): Complexity {
  const wasTraining = model.training;
  model.eval();
  const names = new Map<Handle, string>();
  for (const [name, t] of model.stateDict()) names.set(t.handle, name);
  const tracer = new TracingBackend({ source: backend(), names, shapesOnly: true });
  try {
    withBackend(tracer, () => {
      const x = new Tensor(tracer.input('image', 'float32', [1, 3, inputSize, inputSize]));
      const aux = Object.fromEntries(
        (model.auxiliaryInputs ?? []).map((a) => [a.name, new Tensor(tracer.input(a.name, 'float32', a.shape(1, inputSize, inputSize)))]),
      );
      const out = methodForward(model, x, aux);
      tracer.output('image_logits', out.imgLogits.handle);
      tracer.output('mask_logits', out.maskLogits.handle);
    });
  } finally {
    model.train(wasTraining);
  }
  return { parameters: model.numParameters(), macs: macsOf(tracer.graph), inputSize };
}
