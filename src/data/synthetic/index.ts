export { jpegRoundTrip } from './compress.js';
export {
  FORGERY_KINDS,
  eyeRewarp,
  forge,
  forgeryAlpha,
  lowerSwap,
  mouthRewarp,
  regionSwap,
  sampleForgeryParams,
  selfBlend,
  type FaceImage,
  type Forgery,
  type ForgeryKind,
  type ForgeryParams,
} from './forge.js';
export { seededRandom, type Point, type RgbImage } from './geometry.js';
export { samplePhotos, talkingFaceVideos, FaceMaterialMissingError } from './material.js';
export { buildMiniFfpp, type ClipSource, type MiniFfpp, type MiniFfppOptions } from './mini-ffpp.js';
export {
  sladdForgery,
  sladdColourTransfer,
  sladdKeyPoints,
  sladdRegionMask,
  sladdRandomDeform,
  SLADD_COLOUR_MODES,
  SLADD_REGION_NAMES,
  type SladdAction,
  type SladdColourMode,
  type SladdForgery,
} from './sladd.js';
