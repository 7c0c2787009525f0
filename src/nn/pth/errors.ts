import { MsccnetError } from '../../errors.js';

/** A .pth file that is truncated, corrupt, or uses a feature the reader does not support. */
export class PthError extends MsccnetError {
  constructor(
    readonly source: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(
      'MSCCNET_PTH',
      `${source}: ${problem}`,
      'the file is not a complete PyTorch checkpoint (truncated download or another format?); re-download it or re-save it with torch.save',
      options,
    );
  }
}

/**
 * A pickle that names a global outside the allow-list (e.g. `posix.system`): loading it with
 * Python's pickle would run that code. Nothing was executed.
 */
export class PthGlobalError extends MsccnetError {
  constructor(
    readonly source: string,
    readonly global: string,
  ) {
    super(
      'MSCCNET_PTH_GLOBAL',
      `${source}: refused global '${global}': not an allowed global (a checkpoint holds tensors, containers and scalars only); nothing was executed`,
      'only load checkpoints from sources you trust; re-save the weights alone with torch.save(model.state_dict(), path) in Python, or convert them to safetensors',
    );
  }
}
