#!/usr/bin/env node
import { IoError, ioErrorOf, MsccnetError } from '../errors.js';
import { makeProgram } from './program.js';

/**
 * Runs the CLI: a typed error prints its message and hint, a file-system or network error one
 * MSCCNET_IO line with the path and what to do (stacks only with NODE_DEBUG=msccnet), exit 1.
 */
async function main(): Promise<void> {
  const debug = process.env.NODE_DEBUG?.includes('msccnet') ?? false;
  // libtorch's c10d logs its errors through glog before throwing them; we print the thrown error once
  if (!debug) process.env.GLOG_minloglevel ??= '3';
  try {
    await makeProgram().parseAsync(process.argv);
  } catch (caught) {
    const err = caught instanceof MsccnetError ? caught : (ioErrorOf(caught) ?? caught);
    if (err instanceof IoError && !debug) process.stderr.write(`msccnet: ${err.code}: ${err.problem} → ${err.hint}\n`);
    else if (err instanceof MsccnetError && !debug) process.stderr.write(`msccnet: ${err.message}\n`);
    else process.stderr.write(`msccnet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
