import { annotatePair } from '../annotate/index.js';
import { encodePng } from '../image/index.js';

/** A mask from a real/fake crop pair: a 0/255 PNG, or null with the reason none was made. */
export interface MaskResult {
  mask: Buffer | null;
  reason?: string;
}
/** Pixel annotation of a (real, fake) pair of PNG crops of the same frame and box. */
export type Annotator = (realPng: Buffer, fakePng: Buffer) => Promise<MaskResult>;

/** The paper's annotation (Fig. 3, `annotatePair`, official parameters) as an {@link Annotator}. */
export async function loadAnnotator(): Promise<Annotator> {
  return async (realPng, fakePng) => {
    const r = await annotatePair(realPng, fakePng);
    return r.status === 'annotated' ? { mask: await encodePng(r.mask) } : { mask: null, reason: `${r.reason}: ${r.message}` };
  };
}
