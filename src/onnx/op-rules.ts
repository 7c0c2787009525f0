/**
 * From torch ops to ONNX: the dtype map, the ONNX op of each element-wise op, and the shape rules
 * (broadcasting, matmul, pooling windows, reshape with -1) the tracer infers shapes with. PyTorch's
 * semantics throughout, so a traced shape equals the eager one.
 */
import type { BinaryOp, UnaryOp } from '../torch/backend.js';
import { ExportError } from './errors.js';
import type { ConstData, OnnxDType } from './graph.js';

const TORCH_TO_ONNX: Record<string, OnnxDType> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

export function onnxDtype(torchDtype: string): OnnxDType {
  const d = TORCH_TO_ONNX[torchDtype];
  if (d === undefined) throw new ExportError(`dtype ${torchDtype} has no ONNX mapping here`, 'convert to float32 before the op');
  return d;
}

export const CTOR: Record<OnnxDType, new (buffer: ArrayBuffer) => ConstData> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function normDim(dim: number, rank: number): number {
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) throw new ExportError(`dim ${dim} out of range for rank ${rank}`, 'check the dimension argument');
  return d;
}

export function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ExportError(`shapes [${a}] and [${b}] do not broadcast`, 'check the operands');
    out.push(x === 1 ? y : x);
  }
  return out;
}

export function matmulShape(a: readonly number[], b: readonly number[]): number[] {
  if (a.length < 2 || b.length < 2) throw new ExportError(`matmul of ranks ${a.length} and ${b.length}`, 'use 2-D or batched operands');
  if (a[a.length - 1] !== b[b.length - 2]) throw new ExportError(`matmul [${a}] × [${b}]: inner sizes differ`, 'check the operands');
  return [...broadcast(a.slice(0, -2), b.slice(0, -2)), a[a.length - 2], b[b.length - 1]];
}

export function poolOut(size: number, kernel: number, stride: number, pad: number, dilation: number, ceil: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + pad) out--; // PyTorch: the last window must start inside the input
  return out;
}

/** torch's reshape shape with one -1 resolved. */
export function resolveShape(shape: readonly number[], total: number): number[] {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = shape.map((d) => (d === -1 ? total / known : d));
  if (numel(out) !== total || !out.every(Number.isInteger)) throw new ExportError(`cannot view ${total} elements as [${shape}]`, 'check the target shape');
  return out;
}

export const UNARY: Partial<Record<UnaryOp, string>> = {
  neg: 'Neg',
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  abs: 'Abs',
  logicalNot: 'Not',
};
export const ARITH: Partial<Record<BinaryOp, string>> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min' };
export const COMPARE: Partial<Record<BinaryOp, string>> = { gt: 'Greater', lt: 'Less', ge: 'GreaterOrEqual', le: 'LessOrEqual', eq: 'Equal', ne: 'Equal' };
