/**
 * The forms of `POST /api/detect`'s answer. The JSON carries its pictures as base64 PNG data
 * URLs: by default the mask alone (one small 1-channel PNG at the analysed image's size);
 * `images=all` adds the heat map and the overlay (for a large noisy photo tens of MB, which six
 * slow readers would hold in memory), `mask-heatmap` / `mask-overlay` one of them. A client that
 * sends `Accept: multipart/form-data` gets the PNGs as binary parts beside the analysis JSON
 * (what `Response.formData()` reads), a third smaller than base64.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
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

/** PNG bytes base64-encoded per piece: a multiple of 3, so the pieces join into one base64 text (1 MiB of it each). */
const BASE64_PIECE = 3 * 2 ** 18;
const DATA_URL = 'data:image/png;base64,';

/**
 * The JSON answer with the pictures as PNG data URLs, as a stream and its length. `serialize`
 * (the route's response schema) writes the analysis with a marker for each picture; each marker
 * is then replaced by its data URL, base64-encoded piece by piece as the socket takes it. So the
 * answer (tens of MB for `images=all` of a large photo) never exists as one string or buffer,
 * and a slow reader holds the binary PNGs rather than their base64, JSON string and socket copy.
 */
export function jsonAnswer(serialize: (answer: object) => string, analysis: object, p: Pictures): { body: Readable; length: number } {
  const marker = `msccnet-picture-${randomBytes(12).toString('hex')}-`;
  const pngs = Object.entries(p).filter((e): e is [string, Buffer] => e[1] !== undefined);
  const text = serialize({ ...analysis, images: Object.fromEntries(pngs.map(([name]) => [name, `${marker}${name}`])) });
  // the text between the pictures, in the order the serialiser wrote them
  const found = pngs.map(([name, png]) => ({ at: text.indexOf(`${marker}${name}`), skip: marker.length + name.length, png })).sort((a, b) => a.at - b.at);
  if (found.some((f) => f.at < 0)) throw new Error('a picture marker is missing from the serialised answer');
  let length = Buffer.byteLength(text);
  for (const f of found) length += DATA_URL.length + 4 * Math.ceil(f.png.length / 3) - f.skip;
  function* pieces(): Generator<Buffer> {
    let from = 0;
    for (const f of found) {
      yield Buffer.from(text.slice(from, f.at) + DATA_URL);
      for (let i = 0; i < f.png.length; i += BASE64_PIECE) yield Buffer.from(f.png.toString('base64', i, Math.min(i + BASE64_PIECE, f.png.length)), 'latin1');
      from = f.at + f.skip;
    }
    yield Buffer.from(text.slice(from));
  }
  return { body: Readable.from(pieces(), { objectMode: false, highWaterMark: 2 ** 20 }), length };
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
