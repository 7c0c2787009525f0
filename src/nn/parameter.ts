import { backend } from '../torch/backend.js';
import { Tensor } from '../torch/tensor.js';

/**
 * A trainable tensor owned by a Module: shares `data`'s memory, requires grad, and is not
 * freed by tidy() scopes (the module owns it; Module.dispose() or GC frees it).
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    super(backend().detach(data.handle));
    this.requiresGrad = requiresGrad;
  }
}

/**
 * A state tensor of a Module that is not trained (BatchNorm's running statistics, fixed DCT
 * filters). Persistent buffers are part of stateDict(). Not freed by tidy() scopes.
 */
export class Buffer extends Tensor {
  constructor(
    data: Tensor,
    readonly persistent = true,
  ) {
    super(backend().detach(data.handle));
  }
}
