import { MsccnetError } from '../errors.js';

/** An input whose stride-os feature map does not match the model's DCT filters. */
export class InputSizeError extends MsccnetError {
  constructor(
    readonly got: readonly number[],
    readonly spectralSide: number,
    readonly outputStride: number,
  ) {
    const max = spectralSide * outputStride;
    const min = max - outputStride + 1;
    super(
      'MSCCNET_INPUT_SIZE',
      `input is ${got.join('×')}, but this model's ${spectralSide}×${spectralSide} DCT filters (config inputSize ${max}) need [B, 3, H, W] with square sides ${min}–${max}`,
      `resize to ${max}×${max} first, or build the model with inputSize = ${got.length === 4 ? got[2] : max}`,
    );
  }
}

/** A weight file or state dict that does not fit the model. */
export class WeightsError extends MsccnetError {
  constructor(
    readonly source: string,
    problems: readonly string[],
    hint: string,
    options?: ErrorOptions,
  ) {
    super('MSCCNET_WEIGHTS', `${source}: weights do not fit the model:\n${problems.map((p) => `  ${p}`).join('\n')}`, hint, options);
  }
}

/** An unknown name in the registry of model variants. */
export class UnknownVariantError extends MsccnetError {
  constructor(
    readonly variant: string,
    known: readonly string[],
  ) {
    super('MSCCNET_VARIANT', `variant: unknown model variant '${variant}'`, `use one of: ${known.join(', ')}`);
  }
}

/** A checkpoint whose layout (which converter applies) is unknown or holds no state dict. */
export class CheckpointLayoutError extends MsccnetError {
  constructor(
    readonly source: string,
    problem: string,
    hint: string,
  ) {
    super('MSCCNET_WEIGHTS_LAYOUT', `${source}: ${problem}`, hint);
  }
}

/** An input of another size than the one M2TR's frequency filters (complex weights) were built for. */
export class FilterSizeError extends MsccnetError {
  constructor(
    readonly got: readonly number[],
    readonly inputSize: number,
    readonly weightShape: readonly number[],
  ) {
    super(
      'MSCCNET_INPUT_SIZE',
      `input is ${got.join('×')}, but this model's frequency filters (complex_weight [${weightShape.join(', ')}]) were built for ${inputSize}×${inputSize} (config inputSize ${inputSize})`,
      `resize to ${inputSize}×${inputSize} first, or build the model with inputSize = ${got.length === 4 ? got[2] : inputSize} (weights trained at ${inputSize} then do not load)`,
    );
  }
}
