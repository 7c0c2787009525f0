import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The shared fixture folder: `MSCCNET_FIXTURES`, else `../shared/fixtures` beside the checkout. */
export const fixturesRoot = resolve(process.env.MSCCNET_FIXTURES ?? '../shared/fixtures');

/** Path of one fixture folder; throws with a hint when it is absent (tests must not pass vacuously). */
export function fixtureDir(name: string): string {
  const dir = join(fixturesRoot, name);
  if (!existsSync(dir)) {
    throw new Error(`fixture folder ${dir} not found; set MSCCNET_FIXTURES to the shared fixtures folder`);
  }
  return dir;
}
