import { MsccnetError } from '../errors.js';

export class DemoError extends MsccnetError {
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super('MSCCNET_DEMO', message, hint, options);
  }
}
