/**
 * Hostile input: seeded mutations of small JPEGs (truncations, byte flips, broken Huffman
 * tables, huge or zero sizes, absurd sampling factors, repeated markers and fill bytes, restart
 * markers out of order, missing tables, unknown components). Every decode must either succeed
 * or throw a JpegError whose problem is one line; any other error (RangeError, TypeError, a stack
 * overflow) fails the test, and the test's timeout catches a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { JpegError, readJpegCoefficients } from '../../../src/image/index.js';
import { fixtureDir } from '../../helpers/fixtures.js';
import { testPicture } from '../../helpers/jpeg.js';
import { seeded } from '../../helpers/opencv.js';

const jpegDir = join(fixtureDir('baseline-parity/catnet'), 'jpeg');

/** A marker segment of the file: FF `marker` at `at`, `length` bytes after the marker (0 for RSTn). */
interface Segment {
  readonly marker: number;
  readonly at: number;
  readonly length: number;
}

/** The file's markers in order, found by a plain walk: segments by their length, entropy-coded data skipped to its next marker. */
function segments(file: Uint8Array): Segment[] {
  const out: Segment[] = [];
  let p = 2;
  while (p + 1 < file.length) {
    if (file[p] !== 0xff || file[p + 1] === 0 || file[p + 1] === 0xff) {
      p++;
      continue;
    }
    const marker = file[p + 1];
    if (marker === 0xd9) break;
    if (marker >= 0xd0 && marker <= 0xd7) {
      out.push({ marker, at: p, length: 0 });
      p += 2;
      continue;
    }
    const length = (file[p + 2] << 8) | file[p + 3];
    out.push({ marker, at: p, length });
    p += 2 + length;
  }
  return out;
}

const cut = (file: Uint8Array, from: number, to: number): Uint8Array => Uint8Array.from([...file.subarray(0, from), ...file.subarray(to)]);
const insert = (file: Uint8Array, at: number, bytes: readonly number[]): Uint8Array =>
  Uint8Array.from([...file.subarray(0, at), ...bytes, ...file.subarray(at)]);
const set = (file: Uint8Array, at: number, ...bytes: number[]): Uint8Array => {
  const out = file.slice();
  out.set(bytes, at);
  return out;
};

/** A named mutant; `refusal` where no valid reading exists: true for any JpegError, or the pattern its problem must match. */
interface Mutant {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly refusal: boolean | RegExp;
}

/** Every mutant of `file`. */
function mutants(file: Uint8Array, seed: number): Mutant[] {
  const rand = seeded(seed);
  const byte = (): number => Math.floor(rand() * 256);
  const below = (n: number): number => Math.floor(rand() * n);
  const list: Mutant[] = [];
  const add = (name: string, bytes: Uint8Array, refusal: boolean | RegExp = false): void => void list.push({ name, bytes, refusal });
  const segs = segments(file);
  const of = (marker: number): Segment[] => segs.filter((s) => s.marker === marker);
  const sof = segs.find((s) => s.marker >= 0xc0 && s.marker <= 0xc2)!;
  const components = file[sof.at + 9];

  for (let i = 0; i < 80; i++) {
    const at = 1 + Math.floor((i * (file.length - 1)) / 80) + below(7);
    if (at < file.length) add(`truncated at ${at}`, file.subarray(0, at), at < 4 || /truncated/);
  }
  for (let i = 0; i < 150; i++) {
    let bytes = file;
    for (let k = 0, n = 1 + below(3); k < n; k++) bytes = set(bytes, below(file.length), byte());
    add(`byte flips #${i}`, bytes);
  }
  for (let i = 0; i < 20; i++) {
    const at = below(file.length);
    add(`random run #${i}`, set(file, at, ...Array.from({ length: Math.min(1 + below(64), file.length - at) }, byte)));
  }
  for (const [t, dht] of of(0xc4).entries()) {
    // the first table's counts: 3 codes of length 1 or 255 of length 2 (over-subscribed), random counts
    const total = file.subarray(dht.at + 5, dht.at + 21).reduce((a, b) => a + b, 0);
    // the same number of symbols, three of them with 1-bit codes
    add(`DHT ${t} over-subscribed`, set(file, dht.at + 5, 3, ...new Array<number>(14).fill(0), total - 3), /over-subscribed/);
    add(`DHT ${t} 255 codes of length 2`, set(file, dht.at + 5, 0, 255), true);
    for (let i = 0; i < 10; i++) add(`DHT ${t} random counts #${i}`, set(file, dht.at + 5 + below(16), byte()));
    add(`DHT ${t} class 2`, set(file, dht.at + 4, 0x20 | (file[dht.at + 4] & 15)), /DHT table with class 2/);
    add(`DHT ${t} removed`, cut(file, dht.at, dht.at + 2 + dht.length), t === 0 && of(0xc4).length === 1);
  }
  for (const [t, dqt] of of(0xdb).entries()) {
    add(`DQT ${t} precision 2`, set(file, dqt.at + 4, 0x20), /DQT table with precision 2/);
    add(`DQT ${t} removed`, cut(file, dqt.at, dqt.at + 2 + dqt.length), of(0xdb).length === 1);
  }
  for (const [h, w] of [
    [65535, 65535],
    [0, 100],
    [100, 0],
    [1, 1],
    [65535, 600],
    [below(65536), below(65536)],
  ]) {
    add(
      `SOF ${w}×${h}`,
      set(file, sof.at + 5, h >> 8, h & 255, w >> 8, w & 255),
      h * w === 0 ? /frame is/ : h * w > 40e6 ? new RegExp(`${w}×${h} pixels, more than`) : false,
    );
  }
  for (const factors of [0x00, 0x10, 0x01, 0x50, 0x05, 0xff, 0x44, byte()]) {
    for (let c = 0; c < components; c++)
      add(
        `component ${c} sampling ${factors.toString(16)}`,
        set(file, sof.at + 11 + 3 * c, factors),
        factors >> 4 === 0 || (factors & 15) === 0 || factors >> 4 > 4 || (factors & 15) > 4 ? /sampling factors/ : false,
      );
  }
  add('SOF with 0 components', set(file, sof.at + 9, 0), true);
  add('SOF with 5 components', set(file, sof.at + 9, 5), /5 components/);
  add('SOF precision 12', set(file, sof.at + 4, 12), /12-bit/);
  add('component id used twice', set(file, sof.at + 10 + 3 * (components - 1), file[sof.at + 10]), components > 1 && /two components with the id/);
  add('quantisation table 7', set(file, sof.at + 12, 7), /quantisation table 7/);
  const progressive = sof.marker === 0xc2;
  for (const [s, sos] of of(0xda).entries()) {
    const ns = file[sos.at + 4];
    // a progressive DC refinement scan (Ss = 0, Ah > 0) reads raw bits and needs no table
    const needsTables = !progressive || file[sos.at + 5 + 2 * ns] > 0 || file[sos.at + 7 + 2 * ns] >> 4 === 0;
    add(`scan ${s} names component 99`, set(file, sos.at + 5, 99), /component 99, which the frame does not have/);
    add(`scan ${s} with 0 components`, set(file, sos.at + 4, 0), true);
    add(`scan ${s} uses Huffman tables 3/3`, set(file, sos.at + 6, 0x33), needsTables && /Huffman table 3, which no DHT defined/);
    add(`scan ${s} Ss/Se 5/2`, set(file, sos.at + 5 + 2 * file[sos.at + 4], 5, 2));
    add(`scan ${s} cut off after its header`, file.subarray(0, sos.at + 2 + sos.length + 10), true);
  }
  const firstSos = of(0xda)[0];
  const dht = of(0xc4)[0];
  const dhtBytes = [...file.subarray(dht.at, dht.at + 2 + dht.length)];
  add('1000 copies of a DHT segment', insert(file, dht.at, Array.from({ length: 1000 }, () => dhtBytes).flat()));
  add('5000 empty APP1 segments', insert(file, 2, Array.from({ length: 5000 }, () => [0xff, 0xe1, 0, 2]).flat()));
  add('100000 fill bytes before a marker', insert(file, dht.at, new Array<number>(100000).fill(0xff)));
  add('a second SOI', insert(file, 2, [0xff, 0xd8]), /second SOI/);
  add('a second SOF', insert(file, firstSos.at, [...file.subarray(sof.at, sof.at + 2 + sof.length)]), /second frame header/);
  add('an unknown marker FF 02', insert(file, dht.at, [0xff, 0x02, 0, 2]), /unknown marker FF 02/);
  add('a segment length past the end', set(file, dht.at + 2, 0xff, 0xff), /past the end of the file/);
  add('a segment length of 1', set(file, dht.at + 2, 0, 1), true);
  add('SOS before SOF', insert(file, 2, [...file.subarray(firstSos.at, firstSos.at + 2 + firstSos.length)]), /before the frame header/);
  const scanHeader = [...file.subarray(firstSos.at, firstSos.at + 2 + firstSos.length)];
  add('300 empty scans', insert(file, firstSos.at, Array.from({ length: 300 }, () => scanHeader).flat()), true);
  const lastSos = of(0xda).at(-1)!;
  const lastScan = [...file.subarray(lastSos.at, file.length - 2)];
  add('the last scan 300 times', insert(file, file.length - 2, Array.from({ length: 299 }, () => lastScan).flat()), true);
  add('no EOI', file.subarray(0, file.length - 2), /before its EOI marker/);
  add('EOI only', Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), /no frame header/);
  for (const [r, rst] of of(0xd0)
    .concat(...[0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7].map(of))
    .entries()) {
    if (r > 12) break;
    add(`RST at ${rst.at} renumbered`, set(file, rst.at + 1, 0xd0 + ((rst.marker - 0xd0 + 1 + below(7)) & 7)), /restart marker mismatch/);
    add(`RST at ${rst.at} removed`, cut(file, rst.at, rst.at + 2), true);
    add(`RST at ${rst.at} turned into COM`, set(file, rst.at + 1, 0xfe), /restart marker mismatch: expected RST\d, found FF FE/);
  }
  const dri = of(0xdd)[0];
  if (dri !== undefined) {
    add('restart interval 1', set(file, dri.at + 4, 0, 1), true);
    add('restart interval 0 (markers left in the data)', set(file, dri.at + 4, 0, 0), true);
  }
  add('a DRI of length 5', insert(file, firstSos.at, [0xff, 0xdd, 0, 5, 0, 1, 0]), /DRI segment of 5 bytes/);
  return list;
}

test('hostile JPEGs: every mutant decodes or throws a one-line JpegError, the impossible ones always throw', { timeout: 60_000 }, async () => {
  const files = await Promise.all(
    ['chelsea_420_q80_rst3', 'chelsea_420_q75_progressive', 'chelsea_gray_q85_h2v2'].map(
      async (s) => new Uint8Array(await readFile(join(jpegDir, `${s}.jpg`))),
    ),
  );
  files.push(
    new Uint8Array(
      await sharp(testPicture(37, 53, 5), { raw: { width: 37, height: 53, channels: 3 } })
        .jpeg({ quality: 70, progressive: true, chromaSubsampling: '4:4:4' })
        .toBuffer(),
    ),
  );
  const problems: string[] = [];
  let [decoded, refused] = [0, 0];
  for (const [f, file] of files.entries()) {
    readJpegCoefficients(file); // the originals are valid
    for (const { name, bytes, refusal } of mutants(file, 1000 + f)) {
      const label = `file ${f}, ${name}`;
      try {
        const jpeg = readJpegCoefficients(bytes);
        decoded++;
        if (refusal !== false) problems.push(`${label}: decoded, but must be refused`);
        for (const c of jpeg.components) {
          if (c.coefficients.length !== 64 * c.widthInBlocks * c.heightInBlocks) problems.push(`${label}: coefficient array of the wrong size`);
        }
      } catch (e) {
        refused++;
        if (!(e instanceof JpegError)) problems.push(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        else if (e.code !== 'MSCCNET_JPEG' || e.problem.includes('\n') || e.message.split('\n').length !== 2)
          problems.push(`${label}: malformed error ${JSON.stringify(e.message)}`);
        else if (refusal instanceof RegExp && !refusal.test(e.problem)) problems.push(`${label}: ${e.problem} (expected ${String(refusal)})`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(decoded > 0 && refused > 0, `${decoded} decoded, ${refused} refused`);
});
