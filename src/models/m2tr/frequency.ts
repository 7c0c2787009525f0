import { torch, type Tensor } from '../../torch/index.js';
import { Buffer, Module, Parameter } from '../../nn/index.js';
import { FeedForward2D } from './modules.js';

/**
 * The real DFT matrices of `torch.fft.rfft2(x, dim=(H, W), norm='ortho')` and its inverse
 * `irfft2(·, s=(H, W))`, in float64 then rounded once to float32. With them the filter is four
 * matrix products, the same in libtorch, in its gradient and in ONNX (whose DFT op needs opset 17
 * and is not in every onnxruntime build).
 *
 * - `rows` [2H, H]: [A_r; A_i], A = the orthonormal DFT along H, A[k, h] = e^{−2πi·kh/H}/√H
 *   (symmetric, so its inverse is its conjugate);
 * - `cols` [W, 2Wh]: [B_r | B_i], the half-spectrum DFT along W (Wh = ⌊W/2⌋ + 1);
 * - `colsInverse` [2Wh, W]: the complex-to-real inverse along W, c_k·(cos, −sin)(2π·kw/W)/√W with
 *   c_k = 1 for DC and Nyquist (whose imaginary parts a C2R transform ignores), 2 otherwise.
 */
export function realDftMatrices(h: number, w: number): { rows: Float32Array; cols: Float32Array; colsInverse: Float32Array } {
  const wh = Math.floor(w / 2) + 1;
  const angle = (k: number, n: number, size: number) => (2 * Math.PI * ((k * n) % size)) / size;
  const rows = new Float32Array(2 * h * h);
  for (let k = 0; k < h; k++) {
    for (let n = 0; n < h; n++) {
      rows[k * h + n] = Math.cos(angle(k, n, h)) / Math.sqrt(h);
      rows[(h + k) * h + n] = -Math.sin(angle(k, n, h)) / Math.sqrt(h);
    }
  }
  const cols = new Float32Array(w * 2 * wh);
  const colsInverse = new Float32Array(2 * wh * w);
  for (let k = 0; k < wh; k++) {
    const selfConjugate = k === 0 || 2 * k === w;
    const c = selfConjugate ? 1 : 2;
    for (let n = 0; n < w; n++) {
      const a = angle(k, n, w);
      cols[n * 2 * wh + k] = Math.cos(a) / Math.sqrt(w);
      cols[n * 2 * wh + wh + k] = -Math.sin(a) / Math.sqrt(w);
      colsInverse[k * w + n] = (c * Math.cos(a)) / Math.sqrt(w);
      colsInverse[(wh + k) * w + n] = selfConjugate ? 0 : (-c * Math.sin(a)) / Math.sqrt(w);
    }
  }
  return { rows, cols, colsInverse };
}

/** The top-left / bottom-right and top-right / bottom-left quadrants of [.., 2H, 2Wh]. */
function quadrants(u: Tensor, h: number, wh: number): [Tensor, Tensor, Tensor, Tensor] {
  const top = u.narrow(-2, 0, h);
  const bottom = u.narrow(-2, h, h);
  return [top.narrow(-1, 0, wh), top.narrow(-1, wh, wh), bottom.narrow(-1, 0, wh), bottom.narrow(-1, wh, wh)];
}

/**
 * GFNet's global filter as M2TR uses it (`GlobalFilter`): rfft2 over (H, W) with norm 'ortho',
 * times the learnable complex weight `complex_weight` [h, w, C, 2] (real, imaginary), irfft2 back
 * to H × W. The weight's shape follows the input size (h = IMG_SIZE/4, w = h/2 + 1), so a model
 * filters exactly one feature size. Computed as exact real-DFT matrix products (realDftMatrices).
 */
export class GlobalFilter extends Module {
  readonly complex_weight: Parameter;
  readonly rows: Buffer;
  readonly cols: Buffer;
  readonly colsInverse: Buffer;
  /** the square feature side this filter is built for (h of the weight) and its half-spectrum width (w) */
  readonly h: number;
  readonly w: number;
  constructor(
    readonly dim: number,
    side: number,
  ) {
    super();
    this.h = side;
    this.w = Math.floor(side / 2) + 1;
    const m = realDftMatrices(side, side);
    [this.complex_weight, this.rows, this.cols, this.colsInverse] = torch.tidy(() => [
      new Parameter(torch.randn([this.h, this.w, dim, 2]).mul(0.02)), // official: randn · 0.02
      new Buffer(torch.tensor(m.rows, [2 * side, side]), false),
      new Buffer(torch.tensor(m.cols, [side, 2 * this.w]), false),
      new Buffer(torch.tensor(m.colsInverse, [2 * this.w, side]), false),
    ]);
  }

  forward(x: Tensor): Tensor {
    const { h, w } = this;
    // spectrum X = A·x·B of each [H, W] channel plane
    const [pr, pi, qr, qi] = quadrants(this.rows.matmul(x.matmul(this.cols)), h, w); // [[A_r x B_r, A_r x B_i], [A_i x B_r, A_i x B_i]]
    const xr = pr.sub(qi);
    const xi = pi.add(qr);
    const wr = this.complex_weight.select(3, 0).permute(2, 0, 1); // [C, h, w]
    const wi = this.complex_weight.select(3, 1).permute(2, 0, 1);
    const yr = xr.mul(wr).sub(xi.mul(wi));
    const yi = xr.mul(wi).add(xi.mul(wr));
    // inverse along H: conj(A)·Y; then complex-to-real along W
    const [sr, si, tr, ti] = quadrants(this.rows.matmul(torch.cat([yr, yi], -1)), h, w); // [[A_r Y_r, A_r Y_i], [A_i Y_r, A_i Y_i]]
    const zr = sr.add(ti);
    const zi = si.sub(tr);
    return torch.cat([zr, zi], -1).matmul(this.colsInverse);
  }
}

/** `FreqBlock`: x + FeedForward2D(GlobalFilter(x)). */
export class FreqBlock extends Module {
  readonly filter: GlobalFilter;
  readonly feed_forward: FeedForward2D;
  constructor(dim: number, side: number) {
    super();
    this.filter = new GlobalFilter(dim, side);
    this.feed_forward = new FeedForward2D(dim, dim);
  }
  forward(x: Tensor, tap?: (name: string, t: Tensor) => void): Tensor {
    const filtered = this.filter.forward(x);
    tap?.('filter', filtered);
    return x.add(this.feed_forward.forward(filtered));
  }
}
