/** PyTorch checkpoints (.pth/.pt) read in TypeScript: zip and legacy formats, a restricted unpickler. */
export { readPth, decodePth, type PthCheckpoint, type PthFormat } from './reader.js';
export { PthTensor, PthStorage } from './tensor.js';
export { PyGlobal, type PyValue, type PyDict, type PyKey } from './pickle.js';
export { PthError, PthGlobalError } from './errors.js';
export { flattenPth, pthToFloat64 } from './values.js';
