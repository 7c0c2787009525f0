/**
 * Default pixel limit (width × height) of every command that decodes images, as `serve`'s: 40
 * megapixels. Larger images are refused from their header, before a full decode could take
 * gigabytes (a 420 kB 12000² PNG decodes to 432 MB per copy).
 */
export const DEFAULT_MAX_PIXELS = 40e6;
