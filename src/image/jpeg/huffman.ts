/**
 * The entropy layer of a Huffman-coded JPEG (T.81 Annex C and F.2.2): canonical tables from a
 * DHT segment, and a bit reader over one scan's entropy-coded segment that unstuffs 0xFF00,
 * stops at any marker, and fails instead of decoding bits that are not in the file.
 */
import { corrupt } from './error.js';

/** Bits resolved by one table lookup; longer codes take the per-length search. */
const LOOKAHEAD = 9;

/** A decoding table built from BITS (counts of codes of each length) and HUFFVAL. */
export interface HuffmanTable {
  /** (code length << 8) | symbol for each LOOKAHEAD-bit prefix that starts with a short code, else 0 */
  readonly lookup: Uint16Array;
  /** largest code of each length 0..16, −1 where there is none */
  readonly maxCode: Int32Array;
  /** index into `symbols` minus the first code, for each length */
  readonly symbolOffset: Int32Array;
  readonly symbols: Uint8Array;
  /**
   * For AC tables: (value << 8) | (run << 4) | bits for each LOOKAHEAD-bit prefix that holds a
   * whole nonzero coefficient (code and magnitude bits, as stb_image's fast_ac), else 0
   */
  readonly fastAc: Int32Array | null;
}

/**
 * The table of `counts` (16 code-length counts) and `symbols`, checked as libjpeg checks it
 * (jdhuff.c `jpeg_make_d_derived_tbl`): at most 256 symbols, no code that runs out of its length
 * (over-subscribed) or is all ones, DC symbols ≤ 15.
 */
export function buildHuffmanTable(counts: Uint8Array, symbols: Uint8Array, isDc: boolean): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  const maxCode = new Int32Array(17).fill(-1);
  const symbolOffset = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1];
    symbolOffset[length] = k - code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (length <= LOOKAHEAD) {
        const shift = LOOKAHEAD - length;
        lookup.fill((length << 8) | symbols[k], code << shift, (code + 1) << shift);
      }
    }
    if (n > 0) maxCode[length] = code - 1;
    // `code` is one past the last code of this length; it must still fit in `length` bits
    if (code >= 1 << length) throw corrupt(`a Huffman table is over-subscribed (too many codes of length ≤ ${length})`);
    code <<= 1;
  }
  if (isDc) {
    for (const s of symbols) if (s > 15) throw corrupt(`a DC Huffman table has symbol ${s} (at most 15)`);
  }
  return { lookup, maxCode, symbolOffset, symbols, fastAc: isDc ? null : fastAcTable(lookup) };
}

function fastAcTable(lookup: Uint16Array): Int32Array {
  const fast = new Int32Array(1 << LOOKAHEAD);
  for (let prefix = 0; prefix < fast.length; prefix++) {
    const entry = lookup[prefix];
    const length = entry >> 8;
    const size = entry & 15;
    if (entry === 0 || size === 0 || length + size > LOOKAHEAD) continue;
    const bits = (prefix >> (LOOKAHEAD - length - size)) & ((1 << size) - 1);
    const value = bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits;
    fast[prefix] = (value << 8) | (entry & 0xf0) | (length + size);
  }
  return fast;
}

/**
 * Reads bits, most significant first, from `data` starting at `pos`. Past a marker or the end
 * of the file it supplies zero bits, but counts them (`padding`): taking any of them means the
 * scan's data ran out, which throws, so a truncated or corrupt scan stops at once.
 */
export class EntropyReader {
  /** the low `bits` bits are unread, the newest `padding` of them invented */
  private acc = 0;
  private bits = 0;
  private padding = 0;

  constructor(
    private readonly data: Uint8Array,
    /** next byte to read; rests on the marker that ends the segment */
    public pos: number,
  ) {}

  private fill(): void {
    const data = this.data;
    let { acc, bits, pos } = this;
    while (bits <= 24) {
      let byte = 0;
      if (pos < data.length) {
        byte = data[pos];
        if (byte !== 0xff) pos++;
        else if (data[pos + 1] === 0) pos += 2;
        else {
          byte = 0;
          this.padding += 8;
        }
      } else this.padding += 8;
      acc = (acc << 8) | byte;
      bits += 8;
    }
    this.acc = acc;
    this.bits = bits;
    this.pos = pos;
  }

  private pastEnd(): never {
    throw corrupt('the entropy-coded data ends before its last block (truncated file or corrupt data)');
  }

  /** The next `n` bits (0 ≤ n ≤ 16) as an unsigned number. */
  bitsValue(n: number): number {
    if (this.bits < n) this.fill();
    this.bits -= n;
    if (this.bits < this.padding) this.pastEnd();
    return (this.acc >>> this.bits) & ((1 << n) - 1);
  }

  bit(): number {
    if (this.bits < 1) this.fill();
    this.bits -= 1;
    if (this.bits < this.padding) this.pastEnd();
    return (this.acc >>> this.bits) & 1;
  }

  /** A magnitude category's `s` extra bits as a signed value (T.81 F.2.2.1 EXTEND). */
  received(s: number): number {
    const v = this.bitsValue(s);
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  }

  /** One symbol of `table`. */
  symbol(table: HuffmanTable): number {
    if (this.bits < 16) this.fill();
    const entry = table.lookup[(this.acc >>> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (entry !== 0) {
      this.bits -= entry >> 8;
      if (this.bits < this.padding) this.pastEnd();
      return entry & 0xff;
    }
    for (let length = LOOKAHEAD + 1; length <= 16; length++) {
      const code = (this.acc >>> (this.bits - length)) & ((1 << length) - 1);
      if (code <= table.maxCode[length]) {
        this.bits -= length;
        if (this.bits < this.padding) this.pastEnd();
        return table.symbols[table.symbolOffset[length] + code];
      }
    }
    if (this.bits - 16 < this.padding) this.pastEnd();
    throw corrupt('a Huffman code matches no symbol of its table (corrupt data)');
  }

  /**
   * A whole AC coefficient from `fastAc`, its bits taken: (value << 8) | (run << 4) | bits; or 0,
   * nothing taken, when the next code is longer, has more magnitude bits, or is EOB/ZRL.
   */
  fastAc(fastAc: Int32Array): number {
    if (this.bits < 16) this.fill();
    const entry = fastAc[(this.acc >>> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (entry !== 0) {
      this.bits -= entry & 15;
      if (this.bits < this.padding) this.pastEnd();
    }
    return entry;
  }

  /** Drops the bits left in the buffer (the 1-bit padding before a marker): a restart or the scan's end. */
  reset(): void {
    this.acc = 0;
    this.bits = 0;
    this.padding = 0;
  }
}
