/**
 * The forms of `POST /api/detect`'s answer. The JSON carries its pictures as base64 PNG data
 * URLs: by default the mask alone (one small 1-channel PNG at the analysed image's size);
 * `images=all` adds the heat map and the overlay (for a large noisy photo tens of MB, which six
 * slow readers would hold in memory), `mask-heatmap` / `mask-overlay` one of them. A client that
 * sends `Accept: multipart/form-data` gets the PNGs as binary parts beside the analysis JSON
 * (what `Response.formData()` reads), a third smaller than base64.
 */
import { randomBytes } from 'node:crypto';
import { encodePng } from '../image/codec.js';
import { renderOverlay, type Analysis, type RgbImage } from '../infer/pipeline.js';
import type { AnswerImages } from './api.js';
import { heatmapRgba } from './heatmap.js';

export type Pictures = { mask: Buffer; heatmap?: Buffer; overlay?: Buffer };

/** The PNGs `which` asks for. */
export async function pictures(image: RgbImage, a: Analysis, which: AnswerImages): Promise<Pictures> {
  const heatmap = which === 'all' || which === 'mask-heatmap';
  const overlay = which === 'all' || which === 'mask-overlay';
  const drawn = overlay ? renderOverlay(image, a) : null;
  const [maskPng, heatmapPng, overlayPng] = await Promise.all([
    encodePng({ width: a.width, height: a.height, channels: 1, data: a.mask }),
    heatmap ? encodePng({ width: a.width, height: a.height, channels: 4, data: new Uint8Array(heatmapRgba(a).buffer) }) : undefined,
    drawn ? encodePng({ width: drawn.width, height: drawn.height, channels: 3, data: drawn.data }) : undefined,
  ]);
  return { mask: maskPng, ...(heatmapPng && { heatmap: heatmapPng }), ...(overlayPng && { overlay: overlayPng }) };
}

/** The pictures as PNG data URLs, for the JSON answer. */
export function dataUrls(p: Pictures): { mask: string; heatmap?: string; overlay?: string } {
  const url = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;
  return { mask: url(p.mask), ...(p.heatmap && { heatmap: url(p.heatmap) }), ...(p.overlay && { overlay: url(p.overlay) }) };
}

/** Whether the client asked for the binary form (`Accept: multipart/form-data`). */
export function wantsMultipart(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*multipart\/form-data\s*(;|,|$)/i.test(accept);
}

/** A multipart/form-data body: the `analysis` JSON part, then one `image/png` part per picture. */
export function multipartAnswer(analysis: unknown, p: Pictures): { body: Buffer; contentType: string } {
  const boundary = `msccnet-${randomBytes(12).toString('hex')}`;
  const part = (name: string, type: string, bytes: Buffer, filename?: string): Buffer[] => [
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\ncontent-type: ${type}\r\n\r\n`,
    ),
    bytes,
    Buffer.from('\r\n'),
  ];
  const pngs = Object.entries(p).filter((e): e is [string, Buffer] => e[1] !== undefined);
  const body = Buffer.concat([
    ...part('analysis', 'application/json', Buffer.from(JSON.stringify(analysis))),
    ...pngs.flatMap(([name, png]) => part(name, 'image/png', png, `${name}.png`)),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
