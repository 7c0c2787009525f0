/**
 * The page: pick or drop an image, check it in this browser (face-api + onnxruntime-web, through
 * the same pipeline code as the CLI) or on the server (POST api/detect), and show the heat map,
 * the face boxes and the fake probability in plain words.
 */
import { analyze, type InferenceEngine, type JpegInputSpec, type Region, type RgbImage } from '../../infer/pipeline.js';
import { catnetInput, JpegError, readJpegCoefficients, type JpegSource } from '../../image/jpeg/index.js';
import { faceRegions } from '../../infer/regions.js';
import { heatmapRgba } from '../heatmap.js';
import { imageAnalysisJson } from '../../infer/json.js';
import type { DetectResponse, ErrorResponse, InfoResponse } from '../api.js';
import { openPageEngine } from './engine.js';
import { detectFaces } from './faces.js';

/** Assets (wasm files, face-api weights) live beside the bundle. */
const BASE = new URL('vendor/', location.href).href;
/** Images beyond this side are downscaled before analysis, like `detect --max-side`'s default. */
const MAX_SIDE = 4096;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  file: $<HTMLInputElement>('file'),
  drop: $<HTMLLabelElement>('drop'),
  face: $<HTMLInputElement>('face'),
  status: $('status'),
  error: $('error'),
  result: $('result'),
  score: $('score'),
  reading: $('reading'),
  photo: $<HTMLCanvasElement>('photo'),
  heat: $<HTMLCanvasElement>('heat'),
  boxes: $<HTMLCanvasElement>('boxes'),
  opacity: $<HTMLInputElement>('opacity'),
  opacityValue: $<HTMLOutputElement>('opacity-value'),
  faces: $<HTMLUListElement>('faces'),
  mask: $<HTMLAnchorElement>('download-mask'),
  json: $<HTMLAnchorElement>('download-json'),
};

type Where = 'browser' | 'server';
type Face = DetectResponse['faces'][number];

/** What the page shows, whichever side computed it. */
interface Shown {
  where: Where;
  score: number;
  label: 'fake' | 'real';
  faces: Face[];
  heat: CanvasImageSource;
  mask: Blob;
  /** the download: the answer without its pictures */
  json: Omit<DetectResponse, 'images'>;
}

let info: Promise<InfoResponse> | undefined;
let engine: Promise<InferenceEngine> | undefined;
let busy = false;

function getInfo(): Promise<InfoResponse> {
  info ??= fetch('api/info').then(async (r) => {
    if (!r.ok) throw new Error(`the server did not describe its model (HTTP ${r.status})`);
    return (await r.json()) as InfoResponse;
  });
  return info;
}

const setStatus = (m: string) => {
  ui.status.textContent = m;
};

function showError(message: string): void {
  ui.error.textContent = message;
  ui.error.hidden = false;
  setStatus('');
}

/** Plain words for P(fake); the bands are for reading, the label uses the model's threshold. */
function reading(score: number): string {
  if (score < 0.2) return 'This model found no sign of manipulation.';
  if (score < 0.5) return 'Probably not manipulated, but the model is not sure.';
  if (score < 0.8) return 'Probably manipulated: the model leans towards fake.';
  return 'Very likely manipulated, according to this model.';
}

async function decode(file: Blob): Promise<{ image: RgbImage; bitmap: ImageBitmap }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error('This file cannot be read as an image (it may be truncated, or not a PNG, JPEG or WebP).');
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const [width, height] = [Math.round(bitmap.width * scale), Math.round(bitmap.height * scale)];
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new Error('this browser cannot draw images (no 2D canvas)');
  ctx.drawImage(bitmap, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { image: { width, height, data: rgb }, bitmap };
}

/**
 * The JPEG a model that reads the file sees (infer/pipeline.ts JpegInputSpec), as detect and the
 * server make it (image/catnet-source.ts jpegSourceFor): a JPEG file keeps its own coefficients when
 * the decoded image is its stored pixels; anything else is encoded at the model's quality, here by
 * the browser's encoder (not byte-identical to sharp's, so a PNG may differ a little from the server).
 */
async function pageJpegSource(file: Blob, image: RgbImage, spec: JpegInputSpec): Promise<JpegSource> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    try {
      const jpeg = readJpegCoefficients(bytes);
      if (jpeg.width === image.width && jpeg.height === image.height) {
        const source = { rgb: { ...image, channels: 3 }, jpeg };
        catnetInput(source.rgb, jpeg, { cropSize: [8, 8] }); // refuses a subsampled first component here
        return source;
      }
    } catch (err) {
      if (!(err instanceof JpegError)) throw err;
    }
  }
  const canvas = new OffscreenCanvas(image.width, image.height);
  const rgba = new Uint8ClampedArray(new ArrayBuffer(image.width * image.height * 4));
  for (let i = 0, j = 0; j < image.data.length; i += 4, j += 3) rgba.set([image.data[j], image.data[j + 1], image.data[j + 2], 255], i);
  canvas.getContext('2d')?.putImageData(new ImageData(rgba, image.width, image.height), 0, 0);
  const encoded = await canvas.convertToBlob({ type: 'image/jpeg', quality: spec.jpegQuality / 100 });
  const { image: decoded } = await decode(encoded);
  return { rgb: { ...decoded, channels: 3 }, jpeg: readJpegCoefficients(new Uint8Array(await encoded.arrayBuffer())) };
}

async function pngOf(rgba: Uint8ClampedArray<ArrayBuffer>, width: number, height: number): Promise<Blob> {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')?.putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

async function checkInBrowser(file: Blob, image: RgbImage): Promise<Shown> {
  const t0 = performance.now();
  const i = await getInfo();
  engine ??= openPageEngine(i, BASE, setStatus).catch((err: unknown) => {
    engine = undefined;
    throw err;
  });
  const e = await engine;
  let regions: Region[];
  if (ui.face.checked) {
    setStatus('Looking for faces…');
    regions = faceRegions(await detectFaces(image.data, image.width, image.height, BASE), image.width, image.height);
    if (regions.length === 0) throw new Error('No face was found. Untick "Find faces first" to check the whole image.');
  } else {
    regions = [{ box: { x: 0, y: 0, width: image.width, height: image.height }, detectorScore: null }];
  }
  setStatus('Running the model in this browser…');
  // a model that reads the file (CAT-Net) gets the JPEG's coefficients, read here before the session runs
  const source = e.jpegInput && (await pageJpegSource(file, image, e.jpegInput));
  const a = await analyze(e, image, regions, { threshold: i.threshold, source });
  const heat = await createImageBitmap(new ImageData(heatmapRgba(a), a.width, a.height));
  const maskRgba = new Uint8ClampedArray(new ArrayBuffer(a.mask.length * 4));
  a.mask.forEach((v, k) => maskRgba.set([v, v, v, 255], k * 4));
  const json: Shown['json'] = { ok: true, ...imageAnalysisJson(a, e.name, [], (performance.now() - t0) / 1000) };
  return { where: 'browser', score: a.score, label: a.label, faces: json.faces, heat, mask: await pngOf(maskRgba, a.width, a.height), json };
}

async function checkOnServer(file: Blob): Promise<Shown> {
  setStatus('Uploading and checking on the server…');
  const form = new FormData();
  form.append('image', file, 'upload');
  const res = await fetch(`api/detect?face=${ui.face.checked}&images=mask-heatmap`, { method: 'POST', body: form });
  const body = (await res.json()) as DetectResponse | ErrorResponse;
  if (!body.ok) throw new Error(`${body.error.message}. ${body.error.hint}.`);
  const { images, ...json } = body;
  const blob = async (url: string) => (await fetch(url)).blob();
  return {
    where: 'server',
    score: body.score,
    label: body.label,
    faces: body.faces,
    heat: await createImageBitmap(await blob(images.heatmap!)), // asked for: images=mask-heatmap
    mask: await blob(images.mask),
    json,
  };
}

let urls: string[] = [];

function show(r: Shown, bitmap: ImageBitmap): void {
  const { width, height } = bitmap;
  for (const c of [ui.photo, ui.heat, ui.boxes]) {
    c.width = width;
    c.height = height;
  }
  ui.photo.getContext('2d')?.drawImage(bitmap, 0, 0, width, height);
  ui.heat.getContext('2d')?.drawImage(r.heat, 0, 0, width, height);
  const ctx = ui.boxes.getContext('2d');
  if (ctx !== null) {
    ctx.lineWidth = Math.max(2, Math.round(width / 250));
    ctx.font = `bold ${Math.max(12, Math.round(width / 30))}px system-ui, sans-serif`;
    for (const f of r.faces) {
      ctx.strokeStyle = ctx.fillStyle = f.label === 'fake' ? '#e3261e' : '#1fc24a';
      ctx.strokeRect(f.box[0], f.box[1], f.box[2], f.box[3]);
      ctx.fillText(f.score.toFixed(2), f.box[0] + 4, Math.max(14, f.box[1] - 6));
    }
  }
  ui.photo.setAttribute('aria-label', `the checked image with ${r.faces.length} face box(es)`);
  ui.score.textContent = `Fake probability: ${(100 * r.score).toFixed(1)} % (${r.label})`;
  ui.score.className = `score ${r.label}`;
  ui.score.dataset.score = String(r.score);
  ui.reading.textContent = `${reading(r.score)} Checked ${r.where === 'browser' ? 'in this browser' : 'on the server'}.`;
  ui.faces.replaceChildren(
    ...r.faces.map((f, k) => {
      const li = document.createElement('li');
      li.textContent = `Face ${k + 1}: ${(100 * f.score).toFixed(1)} % fake (${f.label})`;
      return li;
    }),
  );
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [URL.createObjectURL(r.mask), URL.createObjectURL(new Blob([JSON.stringify(r.json, null, 1)], { type: 'application/json' }))];
  [ui.mask.href, ui.json.href] = urls;
  ui.result.hidden = false;
  ui.result.dataset.where = r.where;
  ui.result.dataset.state = 'done';
  applyOpacity();
}

function applyOpacity(): void {
  ui.heat.style.opacity = String(Number(ui.opacity.value) / 100);
  ui.opacityValue.textContent = `${ui.opacity.value} %`;
}

async function check(file: File): Promise<void> {
  if (busy) return;
  busy = true;
  ui.error.hidden = true;
  ui.result.dataset.state = 'working';
  try {
    const where = (document.querySelector('input[name="where"]:checked') as HTMLInputElement | null)?.value === 'server' ? 'server' : 'browser';
    setStatus('Reading the image…');
    const { image, bitmap } = await decode(file);
    const r = where === 'server' ? await checkOnServer(file) : await checkInBrowser(file, image);
    show(r, bitmap);
    setStatus(`Done: ${file.name}`);
  } catch (err) {
    ui.result.dataset.state = 'error';
    showError(err instanceof Error ? err.message : String(err));
  } finally {
    busy = false;
  }
}

ui.file.addEventListener('change', () => {
  const f = ui.file.files?.[0];
  if (f) void check(f);
});
ui.opacity.addEventListener('input', applyOpacity);
for (const ev of ['dragenter', 'dragover'] as const)
  ui.drop.addEventListener(ev, (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
for (const ev of ['dragleave', 'drop'] as const) ui.drop.addEventListener(ev, () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  const f = e.dataTransfer?.files[0];
  if (f) void check(f);
});
// A new choice of side re-checks the current file.
for (const el of document.querySelectorAll<HTMLInputElement>('input[name="where"], #face')) {
  el.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (f) void check(f);
  });
}
