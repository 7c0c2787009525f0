/** The graph contract every exported method shares; its own module so a browser bundle can name it without the exporter. */

/** Graph names of MSCCNet's input and outputs (issue 6). */
export const MSCCNET_IO = { input: 'image', imageLogits: 'image_logits', maskLogits: 'mask_logits' } as const;
