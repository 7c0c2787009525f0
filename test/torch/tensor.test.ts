import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DisposedTensorError, F, Tensor, TorchError, backend, torch, withBackend } from '../../src/torch/index.js';
import { ArgumentError } from '../../src/errors.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('tensor() copies data with the given shape and infers dtype from the array type', () => {
  const a = torch.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual([a.shape, a.dtype, a.device, a.numel, a.ndim], [[2, 3], 'float32', 'cpu', 6, 2]);
  assert.deepEqual(a.toArray(), [1, 2, 3, 4, 5, 6]);
  assert.equal(torch.tensor(new Float64Array([0.1]), [1]).dtype, 'float64');
  assert.equal(torch.tensor(new BigInt64Array([5n]), [1]).dtype, 'int64');
  assert.equal(torch.tensor(new Int32Array([5]), [1]).dtype, 'int32');
  assert.equal(torch.tensor(new Uint8Array([5]), [1]).dtype, 'uint8');
  const b = torch.tensor([1, 0, 2], [3], 'bool');
  assert.deepEqual([b.dtype, b.toArray()], ['bool', [1, 0, 1]]);
  const i = torch.tensor(new Float32Array([1.7, -2.2]), [2], 'int64');
  assert.deepEqual([i.dtype, [...(i.toTypedArray() as BigInt64Array)]], ['int64', [1n, -2n]]);
  assert.throws(() => torch.tensor([1, 2, 3], [2, 2]), TorchError);
  assert.throws(() => torch.tensor([1], [-1]), ArgumentError);
});

test('fromTypedArray shares memory both ways and keeps the buffer alive after the array is dropped', () => {
  const data = new Float32Array([1, 2, 3, 4]);
  const t = torch.fromTypedArray(data, [2, 2]);
  data[0] = 10;
  assert.equal(t.toArray()[0], 10);
  t.mul_(2);
  assert.deepEqual([...data], [20, 4, 6, 8]);
  const orphan = (() => torch.fromTypedArray(new Float64Array([7, 8, 9]), [3]))();
  gc();
  torch.tidy(() => torch.randn([256, 256])); // reuse freed memory if the buffer had been released
  assert.deepEqual(orphan.toArray(), [7, 8, 9]);
  const bytes = new Uint8Array(9);
  const unaligned = new Float32Array(new Float32Array([1.5, 2.5]).buffer);
  bytes.set(new Uint8Array(unaligned.buffer), 1);
  assert.deepEqual(torch.fromTypedArray(new Float32Array(bytes.buffer.slice(1)), [2]).toArray(), [1.5, 2.5]);
});

test('creation ops, seeds and dtypes', () => {
  assert.deepEqual(torch.zeros([2]).toArray(), [0, 0]);
  assert.deepEqual(torch.ones([2], { dtype: 'int32' }).toArray(), [1, 1]);
  assert.deepEqual(torch.full([2], 2.5).toArray(), [2.5, 2.5]);
  assert.deepEqual(torch.arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(torch.arange(4).dtype, 'int64');
  assert.deepEqual(torch.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(torch.empty([3, 0]).shape, [3, 0]);
  assert.equal(torch.getDefaultDtype(), 'float32');
  torch.manualSeed(1);
  const a = torch.randn([4]).toArray();
  // torch.manual_seed(1); torch.randn(4) in PyTorch 1.13:
  [0.6613522, 0.2669241, 0.0616773, 0.6213173].forEach((v, i) => assert.ok(Math.abs(a[i] - v) < 1e-6, `randn[${i}]`));
  torch.manualSeed(1);
  assert.deepEqual(torch.randn([4]).toArray(), a);
  const u = torch.rand([1000]).toArray();
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const r = torch.randint(3, 5, [100]).toArray();
  assert.ok(r.every((v) => v === 3 || v === 4) && r.includes(3) && r.includes(4));
  assert.deepEqual(torch.ones([2, 2]).to('float64').dtype, 'float64');
  assert.equal(torch.ones([1]).to('cpu').device, 'cpu');
});

test('elementwise, comparison, reductions and shape ops compute the right values', () => {
  const a = torch.tensor([1, -2, 3, -4, 5, -6], [2, 3]);
  const b = torch.tensor([2, 2, 2], [3]);
  assert.deepEqual(a.add(b).toArray(), [3, 0, 5, -2, 7, -4]);
  assert.deepEqual(a.sub(1).toArray(), [0, -3, 2, -5, 4, -7]);
  assert.deepEqual(a.mul(b).toArray(), [2, -4, 6, -8, 10, -12]);
  assert.deepEqual(a.div(2).toArray(), [0.5, -1, 1.5, -2, 2.5, -3]);
  assert.deepEqual(a.neg().relu().toArray(), [0, 2, 0, 4, 0, 6]);
  assert.deepEqual(a.abs().pow(2).sqrt().toArray(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(a.gt(0).toArray(), [1, 0, 1, 0, 1, 0]);
  assert.equal(a.gt(0).dtype, 'bool');
  assert.deepEqual(a.le(-4).toArray(), [0, 0, 0, 1, 0, 1]);
  assert.deepEqual(a.eq(3).toArray(), [0, 0, 1, 0, 0, 0]);
  assert.deepEqual(a.ne(3).lt(1).toArray(), [0, 0, 1, 0, 0, 0]);
  assert.deepEqual(a.ge(a).toArray(), [1, 1, 1, 1, 1, 1]);
  assert.equal(a.sum().item(), -3);
  assert.deepEqual(a.sum(0).toArray(), [-3, 3, -3]);
  assert.deepEqual(a.mean(1, true).shape, [2, 1]);
  assert.deepEqual(a.mean([0, 1]).toArray(), [-0.5]);
  const m = a.max(1);
  assert.deepEqual([m.values.toArray(), m.indices.toArray(), m.indices.dtype], [[3, 5], [2, 1], 'int64']);
  assert.deepEqual(a.min(0).values.toArray(), [-4, -2, -6]);
  assert.deepEqual(a.argmax(0).toArray(), [0, 1, 0]);
  assert.equal(a.argmax().item(), 4);
  assert.equal(a.max().item(), 5);
  assert.deepEqual(a.transpose(0, 1).contiguous().toArray(), [1, -4, -2, 5, 3, -6]);
  assert.deepEqual(a.permute(1, 0).shape, [3, 2]);
  assert.deepEqual(a.view([3, 2]).shape, [3, 2]);
  assert.deepEqual(a.view(-1).shape, [6]);
  assert.deepEqual(a.unsqueeze(0).unsqueeze(-1).shape, [1, 2, 3, 1]);
  assert.deepEqual(a.unsqueeze(0).squeeze().shape, [2, 3]);
  assert.deepEqual(a.flatten().shape, [6]);
  assert.deepEqual(
    a.split(2, 1).map((t) => t.shape),
    [
      [2, 2],
      [2, 1],
    ],
  );
  assert.deepEqual(
    a.split([1, 2], 1).map((t) => t.shape),
    [
      [2, 1],
      [2, 2],
    ],
  );
  assert.deepEqual(
    a.chunk(3, 1).map((t) => t.toArray()),
    [
      [1, -4],
      [-2, 5],
      [3, -6],
    ],
  );
  assert.deepEqual(a.narrow(1, 1, 2).toArray(), [-2, 3, 5, -6]);
  assert.deepEqual(a.slice(1, -2).toArray(), [-2, 3, 5, -6]);
  assert.deepEqual(a.slice(1, 0, 3, 2).toArray(), [1, 3, -4, -6]);
  assert.deepEqual(a.select(0, 1).toArray(), [-4, 5, -6]);
  assert.deepEqual(b.unsqueeze(0).expand(2, 3).toArray(), [2, 2, 2, 2, 2, 2]);
  assert.deepEqual(torch.cat([a, a], 0).shape, [4, 3]);
  assert.deepEqual(torch.stack([b, b], 1).shape, [3, 2]);
  assert.deepEqual(
    a
      .softmax(1)
      .sum(1)
      .toArray()
      .map((v) => Math.round(v * 1e6) / 1e6),
    [1, 1],
  );
  assert.ok(Math.abs(a.logSoftmax(1).exp().sum().item() - 2) < 1e-6);
  assert.deepEqual(
    torch
      .tensor([1, 2, 3, 4], [2, 2])
      .matmul(torch.tensor([1, 1], [2, 1]))
      .toArray(),
    [3, 7],
  );
  assert.deepEqual(
    torch
      .ones([2, 1, 3])
      .bmm(torch.ones([2, 3, 1]))
      .toArray(),
    [3, 3],
  );
  const c = torch.zeros([3]);
  assert.equal(
    c
      .add_(torch.ones([3]), 2)
      .mul_(3)
      .sub_(1)
      .div_(5),
    c,
  );
  assert.deepEqual(c.toArray(), [1, 1, 1]);
  assert.deepEqual(c.fill_(4).zero_().toArray(), [0, 0, 0]);
  assert.deepEqual(c.copy_(b).toArray(), [2, 2, 2]);
  assert.deepEqual(torch.tensor([5], [1], 'int64').add(2).dtype, 'int64');
});

test('autograd: backward, grad accumulation, detach, requiresGrad, noGrad', () => {
  const x = torch.tensor([1, 2, 3], [3], { requiresGrad: true });
  const grad = () => x.grad?.toArray() ?? null; // a function, so TS does not narrow x.grad to null
  assert.equal(x.requiresGrad, true);
  assert.equal(grad(), null);
  x.mul(x).sum().backward();
  assert.deepEqual(grad(), [2, 4, 6]);
  x.mul(3).sum().backward();
  assert.deepEqual(grad(), [5, 7, 9]); // accumulates, as PyTorch
  x.grad = null;
  assert.equal(grad(), null);
  const y = x.mul(2);
  y.backward(torch.tensor([1, 0, 1], [3]));
  assert.deepEqual(grad(), [2, 0, 2]);
  assert.equal(x.detach().requiresGrad, false);
  assert.equal(y.isLeaf, false);
  const z = torch.noGrad(() => x.mul(2));
  assert.equal(z.requiresGrad, false);
  assert.equal(torch.isGradEnabled(), true);
  assert.equal(torch.noGrad(() => torch.enableGrad(() => x.mul(2))).requiresGrad, true);
  assert.throws(
    () =>
      torch.noGrad(() => {
        throw new Error('inner');
      }),
    /inner/,
  );
  assert.equal(torch.isGradEnabled(), true, 'grad mode restored after a throw');
  const w = torch.ones([2]);
  w.requiresGrad = true;
  assert.equal(w.requiresGrad, true);
});

test("libtorch errors become TorchError with libtorch's message, and the process carries on", () => {
  const a = torch.ones([2, 3]);
  const err = (() => {
    try {
      a.matmul(torch.ones([4, 5]));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof TorchError);
  assert.equal(err.code, 'MSCCNET_TORCH');
  assert.match(err.message, /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
  assert.match(err.stack ?? '', /tensor\.test\.ts/, 'the JS stack names the caller');
  assert.throws(
    () => F.conv2d(torch.ones([1, 3, 8, 8]), torch.ones([4, 2, 3, 3])),
    (e: unknown) => e instanceof TorchError && /expected input\[1, 3, 8, 8\] to have 2 channels/.test(e.message),
  );
  assert.throws(
    () => a.view(4, 4),
    (e: unknown) => e instanceof TorchError && /shape '\[4, 4\]' is invalid/.test(e.message),
  );
  assert.throws(() => a.item(), TorchError);
  assert.throws(
    () => torch.ones([2]).backward(),
    (e: unknown) => e instanceof TorchError && /does not require grad/.test(e.message),
  );
  assert.throws(() => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 5], [2], 'int64')), TorchError);
  assert.throws(() => a.to('cuda:3'), TorchError);
  assert.deepEqual(a.add(1).toArray(), [2, 2, 2, 2, 2, 2]);
});

test('dispose frees the native reference; using a disposed tensor is a typed error', () => {
  const before = torch.memory().liveTensors;
  const t = torch.ones([4]);
  assert.equal(torch.memory().liveTensors, before + 1);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.equal(torch.memory().liveTensors, before);
  assert.throws(() => t.add(1), DisposedTensorError);
  assert.equal(String(t), 'Tensor(disposed)');
});

test('tidy frees everything created inside except what it returns (nested, objects, arrays, throws)', () => {
  const live = () => torch.memory().liveTensors;
  const before = live();
  const outer = torch.ones([2]);
  const result = torch.tidy(() => {
    const a = outer.add(1);
    const b = a.mul(2);
    for (let i = 0; i < 50; i++) b.add(i);
    const inner = torch.tidy(() => {
      const c = b.exp();
      c.log();
      return [c, { d: c.sqrt() }];
    });
    assert.equal(live(), before + 1 + 2 + 50 + 2, 'inner tidy returned 2 tensors into this scope');
    return { a, nested: [inner[0]], map: new Map([['b', b]]) };
  });
  assert.equal(live(), before + 1 + 3, 'a, b and c survive; the 50 temporaries and d are freed');
  assert.deepEqual(result.a.toArray(), [2, 2]);
  assert.equal((result.nested[0] as Tensor).isDisposed, false);
  assert.throws(
    () =>
      torch.tidy(() => {
        torch.ones([3]);
        torch.ones([3]);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(live(), before + 4, 'a throwing tidy frees its tensors');
  const kept = torch.tidy(() => {
    torch.keep(torch.ones([1]));
    torch.ones([1]);
    return null;
  });
  assert.equal(kept, null);
  assert.equal(live(), before + 5, 'keep() escapes the scope');
  assert.throws(() => torch.tidy(() => Promise.resolve(1)), /synchronous/);
  torch.dispose([result, outer]);
  assert.equal(live(), before + 1);
});

test('threads and devices', () => {
  const n = torch.getNumThreads();
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(n);
  assert.throws(() => torch.setNumThreads(0), ArgumentError);
  assert.equal(typeof torch.cuda.isAvailable(), 'boolean');
  assert.equal(torch.device('cpu'), 'cpu');
  if (!torch.cuda.isAvailable()) assert.throws(() => torch.device('cuda:0'), /no CUDA device/);
  assert.throws(() => torch.device('gpu'), ArgumentError);
});

test("every op goes through the active backend, so a substitute (e.g. a tracer) sees the model's ops", () => {
  const calls: string[] = [];
  const recording = new Proxy(backend(), {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function'
        ? (...args: unknown[]) => {
            calls.push(String(key));
            return (v as (...a: unknown[]) => unknown)(...args);
          }
        : v;
    },
  });
  const x = torch.randn([1, 2, 4, 4]);
  const w = torch.randn([3, 2, 3, 3]);
  const y = withBackend(recording, () => F.maxPool2d(F.conv2d(x, w, null, { padding: 1 }).relu(), { kernelSize: 2 }).softmax(1));
  // outside every scope each result is also reported to GC (V8's external memory), through the same backend
  assert.deepEqual(
    calls.filter((c) => c !== 'reportToGc'),
    ['conv2d', 'unary', 'maxPool2d', 'softmax'],
  );
  assert.equal(calls.filter((c) => c === 'reportToGc').length, 4);
  assert.deepEqual(y.shape, [1, 3, 2, 2]);
});
