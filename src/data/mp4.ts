/**
 * A video's size and frame count read from its MP4 index (`moov`), in this process: an ffprobe
 * start costs about 4,500 page faults and tens of milliseconds, and prepare probes every video of a
 * dataset. Only files whose index gives exactly what `ffprobe -count_packets` counts are answered:
 * H.264 in a non-fragmented MP4/MOV, every sample inside the file, no edit that drops samples.
 * Anything else returns null and is probed by ffprobe, whose reading stays the reference.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** The size and frame count of a video's first video stream (what `probeVideo` returns). */
export interface VideoInfo {
  width: number;
  height: number;
  /** Number of video frames (demuxed packets of the first video stream). */
  frames: number;
}

/** An index larger than this is left to ffprobe (a 64 MiB `moov` indexes days of video). */
const MAX_MOOV_BYTES = 64 * 2 ** 20;
/** The sample entries whose width and height are the decoder's (ffmpeg writes them from the SPS). */
const H264 = new Set(['avc1', 'avc3']);

interface Box {
  readonly type: string;
  /** the content: the bytes after the header */
  readonly start: number;
  readonly end: number;
}

/** The box whose header starts at data[at], within `room` bytes of it: its type, header length and size; null when it overruns them. */
function header(data: Buffer, at: number, room: number): { type: string; header: number; size: number } | null {
  if (room < 8) return null;
  let size = data.readUInt32BE(at);
  let length = 8;
  if (size === 1) {
    if (room < 16) return null;
    size = Number(data.readBigUInt64BE(at + 8));
    length = 16;
  } else if (size === 0) size = room; // to the end
  if (size < length || size > room) return null;
  return { type: data.toString('latin1', at + 4, at + 8), header: length, size };
}

/** The boxes in data[start, end), or null when one overruns it. */
function boxes(data: Buffer, start: number, end: number): Box[] | null {
  const out: Box[] = [];
  for (let at = start; at < end;) {
    const h = header(data, at, end - at);
    if (h === null) return null;
    out.push({ type: h.type, start: at + h.header, end: at + h.size });
    at += h.size;
  }
  return out;
}

/** The first child box of `type` with at least `bytes` of content (a shorter one is malformed: ffprobe reads the file). */
function child(data: Buffer, box: Box | undefined, type: string, bytes = 8): Box | undefined {
  const found = box ? boxes(data, box.start, box.end)?.find((b) => b.type === type) : undefined;
  return found !== undefined && found.end - found.start >= bytes ? found : undefined;
}

/** The top-level boxes of the file, read header by header; null when the file is not a plain MP4 (fragments, a truncated box). */
async function topLevel(file: FileHandle, size: number): Promise<Box[] | null> {
  const out: Box[] = [];
  const head = Buffer.alloc(16);
  for (let at = 0; at < size;) {
    const { bytesRead } = await file.read(head, 0, Math.min(16, size - at), at);
    const h = header(head, 0, size - at);
    if (h === null || bytesRead < Math.min(16, h.header) || h.type === 'moof') return null;
    out.push({ type: h.type, start: at + h.header, end: at + h.size });
    at += h.size;
  }
  return out;
}

/** Reads `count` big-endian u32 (or u64 with `wide`) values of a table that starts at `at`. */
function table(data: Buffer, at: number, count: number, end: number, wide = false): number[] | null {
  const width = wide ? 8 : 4;
  if (at + count * width > end) return null;
  return Array.from({ length: count }, (_, i) => (wide ? Number(data.readBigUInt64BE(at + i * width)) : data.readUInt32BE(at + i * width)));
}

/** Width, height and sample count of the first video track, or null where ffprobe must read the file. */
export async function mp4VideoInfo(path: string): Promise<VideoInfo | null> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const top = await topLevel(file, size);
    const moovBox = top?.find((b) => b.type === 'moov');
    if (!top?.some((b) => b.type === 'ftyp') || moovBox === undefined || moovBox.end - moovBox.start > MAX_MOOV_BYTES) return null;
    const data = Buffer.alloc(moovBox.end - moovBox.start);
    await file.read(data, 0, data.length, moovBox.start);
    return videoTrack(data, size);
  } finally {
    await file.close();
  }
}

/** The first video track of a `moov` (its content in `data`) in a file of `fileSize` bytes. */
function videoTrack(data: Buffer, fileSize: number): VideoInfo | null {
  const moov = boxes(data, 0, data.length);
  if (moov === null || moov.some((b) => b.type === 'mvex')) return null;
  const mvhd = moov.find((b) => b.type === 'mvhd');
  if (mvhd === undefined || mvhd.end - mvhd.start < 24) return null;
  const movieScale = data.readUInt32BE(mvhd.start + (data[mvhd.start] === 1 ? 20 : 12));
  for (const trak of moov.filter((b) => b.type === 'trak')) {
    const mdia = child(data, trak, 'mdia');
    const hdlr = child(data, mdia, 'hdlr', 12);
    if (hdlr === undefined || data.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide') continue;
    return trackInfo(data, trak, mdia!, movieScale, fileSize); // the first video track is ffprobe's v:0
  }
  return null;
}

function trackInfo(data: Buffer, trak: Box, mdia: Box, movieScale: number, fileSize: number): VideoInfo | null {
  const mdhd = child(data, mdia, 'mdhd', 24);
  const stbl = child(data, child(data, mdia, 'minf'), 'stbl');
  const [stsd, stsz, stsc, stts, co32, co64] = ['stsd', 'stsz', 'stsc', 'stts', 'stco', 'co64'].map((t) => child(data, stbl, t, t === 'stsz' ? 12 : 8));
  const stco = co32 ?? co64;
  if (!mdhd || !stsd || !stsz || !stsc || !stts || !stco) return null;
  // the first sample entry: H.264, with its width and height
  if (data.readUInt32BE(stsd.start + 4) < 1 || stsd.start + 8 + 36 > stsd.end) return null;
  const entry = stsd.start + 8;
  if (!H264.has(data.toString('latin1', entry + 4, entry + 8))) return null;
  const width = data.readUInt16BE(entry + 32);
  const height = data.readUInt16BE(entry + 34);
  // every sample's size (none empty)
  const fixedSize = data.readUInt32BE(stsz.start + 4);
  const frames = data.readUInt32BE(stsz.start + 8);
  const sizes = fixedSize === 0 ? table(data, stsz.start + 12, frames, stsz.end) : Array<number>(frames).fill(fixedSize);
  if (width === 0 || height === 0 || frames < 1 || sizes === null || sizes.includes(0)) return null;
  // every sample inside the file: chunk offset + the sizes of its samples (stsc runs)
  const offsets = table(data, stco.start + 8, data.readUInt32BE(stco.start + 4), stco.end, co32 === undefined);
  const runs = table(data, stsc.start + 8, 3 * data.readUInt32BE(stsc.start + 4), stsc.end);
  if (offsets === null || runs === null || runs.length === 0) return null;
  let sample = 0;
  for (let r = 0; r < runs.length; r += 3) {
    const first = runs[r]! - 1;
    const last = r + 3 < runs.length ? runs[r + 3]! - 1 : offsets.length;
    for (let chunk = first; chunk < last; chunk++) {
      let end = offsets[chunk]!;
      for (let k = 0; k < runs[r + 1]! && sample < frames; k++) end += sizes[sample++]!;
      if (end > fileSize) return null; // truncated: ffprobe counts what it can read
    }
  }
  if (sample !== frames) return null;
  const mediaScale = data.readUInt32BE(mdhd.start + (data[mdhd.start] === 1 ? 20 : 12));
  return keepsEverySample(data, trak, stts, child(data, stbl, 'ctts'), frames, movieScale, mediaScale) ? { width, height, frames } : null;
}

/**
 * True without an edit list, or with one edit at normal rate that spans every sample's
 * presentation time (what ffmpeg writes for B-frames): ffmpeg's demuxer then returns every sample.
 */
function keepsEverySample(data: Buffer, trak: Box, stts: Box, ctts: Box | undefined, frames: number, movieScale: number, mediaScale: number): boolean {
  const edts = child(data, trak, 'edts', 0);
  const elst = child(data, edts, 'elst');
  if (elst === undefined) return edts === undefined;
  const v1 = data[elst.start] === 1;
  if (data.readUInt32BE(elst.start + 4) !== 1 || elst.start + 8 + (v1 ? 20 : 12) > elst.end) return false;
  const at = elst.start + 8;
  const segment = v1 ? Number(data.readBigUInt64BE(at)) : data.readUInt32BE(at);
  const mediaTime = v1 ? Number(data.readBigInt64BE(at + 8)) : data.readInt32BE(at + 4);
  const rate = data.readInt32BE(at + (v1 ? 16 : 8));
  if (mediaTime < 0 || rate !== 0x10000 || movieScale === 0 || mediaScale === 0) return false;
  const range = presentationRange(data, stts, ctts, frames);
  if (range === null) return false;
  // [mediaTime, mediaTime + segment) in media units must hold [first, end): the segment may round down by one movie tick
  return mediaTime <= range.first && (segment + 1) * mediaScale >= (range.end - mediaTime) * movieScale;
}

/** The earliest presentation time and the end of the last, in media units (stts durations, ctts offsets). */
function presentationRange(data: Buffer, stts: Box, ctts: Box | undefined, frames: number): { first: number; end: number } | null {
  const deltas = table(data, stts.start + 8, 2 * data.readUInt32BE(stts.start + 4), stts.end);
  const offsets = ctts === undefined ? [] : table(data, ctts.start + 8, 2 * data.readUInt32BE(ctts.start + 4), ctts.end);
  if (deltas === null || offsets === null) return null;
  const signed = ctts !== undefined && data[ctts.start] === 1;
  let first = Infinity;
  let end = -Infinity;
  let dts = 0;
  let d = 0;
  let dLeft = deltas[0] ?? 0;
  let o = 0;
  let oLeft = offsets.length > 0 ? offsets[0]! : frames;
  for (let s = 0; s < frames; s++) {
    while (dLeft === 0 && d + 2 < deltas.length) dLeft = deltas[(d += 2)]!;
    while (oLeft === 0 && o + 2 < offsets.length) oLeft = offsets[(o += 2)]!;
    if (dLeft === 0 || oLeft === 0) return null; // the tables hold fewer samples than stsz
    const duration = deltas[d + 1]!;
    const raw = offsets.length > 0 ? offsets[o + 1]! : 0;
    const pts = dts + (signed ? raw | 0 : raw);
    first = Math.min(first, pts);
    end = Math.max(end, pts + duration);
    dts += duration;
    dLeft--;
    oLeft--;
  }
  return { first, end };
}
