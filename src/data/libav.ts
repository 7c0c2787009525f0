import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MsccnetError } from '../errors.js';

/** The FFmpeg-libraries addon (native/src/av.cc) is missing or was built for another Node or FFmpeg. */
export class AvAddonError extends MsccnetError {
  constructor(
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(
      'MSCCNET_AV_ADDON',
      `the video addon could not be loaded from ${path}`,
      "build it with `bash scripts/setup` (it installs Debian's libavformat-dev, libavcodec-dev and libavfilter-dev)",
      options,
    );
  }
}

/** One decoded frame as the addon returns it: RGB24, row-major. */
export interface DecodedFrame {
  width: number;
  height: number;
  rgb: Buffer;
}

/** One MP4 to write: the ffmpeg command's `-c:v encoder -pix_fmt pixFmt` and its encoder options. */
export interface EncoderOutput {
  path: string;
  encoder: string;
  pixFmt: string;
  options: Readonly<Record<string, string>>;
}

interface AvAddon {
  /** The frames `indices` (decode order; undefined where the file ends first), or why the file could not be decoded. */
  decodeFrames(path: string, indices: readonly number[]): Promise<string | Array<DecodedFrame | undefined>>;
  encodeVideos(outputs: readonly EncoderOutput[], frames: readonly Buffer[], width: number, height: number, fps: number): Promise<void>;
}

const addonPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'msccnet_av.node');
let addon: AvAddon | null = null;

/** The addon, loaded on first use (a process that never touches a video never maps FFmpeg's libraries). */
export function libav(): AvAddon {
  if (addon === null) {
    try {
      addon = createRequire(import.meta.url)(addonPath) as AvAddon;
    } catch (err) {
      throw new AvAddonError(addonPath, { cause: err });
    }
  }
  return addon;
}
