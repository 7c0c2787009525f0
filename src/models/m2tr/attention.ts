import { torch, type Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, LeakyReLU, Module, Sequential } from '../../nn/index.js';
import { FeedForward2D } from './modules.js';

/**
 * softmax(q·kᵀ · scale)·v over the last two dims (CMA_Block's product). The scope frees the
 * three score-sized intermediates as soon as the product is out (autograd keeps what it saves).
 */
function attend(q: Tensor, kT: Tensor, v: Tensor, scale: number): Tensor {
  return torch.tidy(() => q.matmul(kT).mul(scale).softmax(-1).matmul(v));
}

/**
 * The same attention computed `rows` queries at a time: each query row's softmax depends on its
 * own scores only, so the blocks are the full product's rows (up to the rounding of a smaller
 * matrix product), and the score matrix held at once is rows × N instead of N × N.
 * rows ≤ 0 or ≥ N: one block (the official computation).
 */
export function chunkedAttention(q: Tensor, kT: Tensor, v: Tensor, scale: number, rows: number): Tensor {
  const n = q.shape[q.ndim - 2];
  if (rows <= 0 || rows >= n) return attend(q, kT, v, scale);
  const blocks: Tensor[] = [];
  for (let start = 0; start < n; start += rows) blocks.push(attend(q.narrow(-2, start, Math.min(rows, n - start)), kT, v, scale));
  return torch.cat(blocks, -2);
}

/**
 * `MultiHeadedAttention(patchsize, d_model)`: 1×1 q/k/v embeddings, the channels split into one
 * head per patch size; each head attends between the non-overlapping p×p patches (tokens of
 * d_k·p² values), heads concatenated, then 3×3 conv + BN + LeakyReLU(0.2).
 */
export class MultiHeadedAttention extends Module {
  readonly query_embedding: Conv2d;
  readonly value_embedding: Conv2d;
  readonly key_embedding: Conv2d;
  readonly output_linear: Sequential;
  constructor(
    readonly patchSizes: readonly number[],
    dModel: number,
  ) {
    super();
    this.query_embedding = new Conv2d(dModel, dModel, 1);
    this.value_embedding = new Conv2d(dModel, dModel, 1);
    this.key_embedding = new Conv2d(dModel, dModel, 1);
    this.output_linear = new Sequential(new Conv2d(dModel, dModel, 3, { padding: 1 }), new BatchNorm2d(dModel), new LeakyReLU(0.2));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const heads = this.patchSizes.length;
    const dk = Math.floor(C / heads);
    const [qs, ks, vs] = [this.query_embedding, this.key_embedding, this.value_embedding].map((m) => m.forward(x).chunk(heads, 1));
    const outputs = this.patchSizes.map((p, i) => {
      const [oh, ow] = [Math.floor(H / p), Math.floor(W / p)];
      const tokens = (t: Tensor) =>
        t
          .view(B, dk, oh, p, ow, p)
          .permute(0, 2, 4, 1, 3, 5)
          .reshape(B, oh * ow, dk * p * p);
      // the official `attention`: scores divided by √(token size)
      const y = tokens(qs[i])
        .matmul(tokens(ks[i]).transpose(-2, -1))
        .div(Math.sqrt(dk * p * p))
        .softmax(-1)
        .matmul(tokens(vs[i]));
      return y.view(B, oh, ow, dk, p, p).permute(0, 3, 1, 4, 2, 5).reshape(B, dk, H, W);
    });
    return this.output_linear.forward(torch.cat(outputs, 1));
  }
}

/** `TransformerBlock`: x + attention(x), then + FeedForward2D. */
export class TransformerBlock extends Module {
  readonly attention: MultiHeadedAttention;
  readonly feed_forward: FeedForward2D;
  constructor(patchSizes: readonly number[], inChannels: number) {
    super();
    this.attention = new MultiHeadedAttention(patchSizes, inChannels);
    this.feed_forward = new FeedForward2D(inChannels, inChannels);
  }
  forward(rgb: Tensor): Tensor {
    const out = rgb.add(this.attention.forward(rgb));
    return out.add(this.feed_forward.forward(out));
  }
}

/** `PatchTrans(in_channel, in_size)`: one TransformerBlock with patch sizes in_size, /2, /4, /8. */
export class PatchTrans extends Module {
  readonly t: TransformerBlock;
  constructor(inChannels: number, inSize: number) {
    super();
    this.t = new TransformerBlock([inSize, Math.floor(inSize / 2), Math.floor(inSize / 4), Math.floor(inSize / 8)], inChannels);
  }
  forward(x: Tensor): Tensor {
    return this.t.forward(x);
  }
}

/**
 * `CMA_Block`: cross-modal attention, queries from the RGB features, keys and values from the
 * frequency features, over all H·W positions (6400 at 320², 16384 at 512²); output
 * rgb + conv4(z). `queryRows` > 0 computes it in blocks of that many queries (chunkedAttention).
 */
export class CMABlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly conv4: Sequential;
  readonly scale: number;
  constructor(
    inChannels: number,
    hidden: number,
    outChannels: number,
    readonly queryRows = 0,
  ) {
    super();
    this.conv1 = new Conv2d(inChannels, hidden, 1);
    this.conv2 = new Conv2d(inChannels, hidden, 1);
    this.conv3 = new Conv2d(inChannels, hidden, 1);
    this.scale = hidden ** -0.5;
    this.conv4 = new Sequential(new Conv2d(hidden, outChannels, 1), new BatchNorm2d(outChannels), new LeakyReLU(0.2));
  }
  forward(rgb: Tensor, freq: Tensor): Tensor {
    const [B, , H, W] = rgb.shape;
    const q = this.conv1.forward(rgb).flatten(2).transpose(-2, -1); // [B, HW, C]
    const kT = this.conv2.forward(freq).flatten(2); // [B, C, HW]
    const v = this.conv3.forward(freq).flatten(2).transpose(-2, -1);
    const z = chunkedAttention(q, kT, v, this.scale, this.queryRows);
    return rgb.add(this.conv4.forward(z.view(B, H, W, -1).permute(0, 3, 1, 2)));
  }
}
