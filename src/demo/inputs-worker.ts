/** Worker thread of buildDemoInputs (see inputs.ts): runs it once for the plan and folder in workerData. */
import { parentPort, workerData } from 'node:worker_threads';
import { MsccnetError } from '../errors.js';
import { buildDemoInputs, type InputsEvent } from './inputs.js';
import type { DemoPlan } from './plan.js';

/** What the worker posts: events, then the result or the error (its message and hint, as errors lose their class between threads). */
export type InputsMessage =
  | { readonly kind: 'event'; readonly event: InputsEvent }
  | { readonly kind: 'done'; readonly inputs: Awaited<ReturnType<typeof buildDemoInputs>> }
  | { readonly kind: 'error'; readonly message: string; readonly hint: string | null };

const { plan, out } = workerData as { plan: DemoPlan; out: string };
const post = (m: InputsMessage): void => parentPort!.postMessage(m);
try {
  post({ kind: 'done', inputs: await buildDemoInputs(plan, out, (event) => post({ kind: 'event', event })) });
} catch (err) {
  const e = err as Error;
  post(e instanceof MsccnetError ? { kind: 'error', message: e.problem, hint: e.hint } : { kind: 'error', message: e.message, hint: null });
}
