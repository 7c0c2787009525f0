/**
 * FFD's two official state-dict layouts (JStehouwer/FFD_CVPR2020; fixture
 * baseline-parity/ffd/README.md §7). msccnet's FFD follows the initial commit's
 * `network/xception_map.py`, whose names are Cadene's Xception ones; the repository head's
 * `xception.py` renames three things, mapped here for the `ffd-xception` converter.
 */

/** Modules of `xception_map.py` its `mask_reg` forward never runs: the head layout has no counterpart, so they keep their values. */
export const FFD_UNUSED_MODULES = ['bnmap', 'convmap', 'convmap2', 'linearmap', 'map_conv1', 'map_linear'] as const;

/** True for an entry of one of FFD_UNUSED_MODULES. */
export function isUnusedFfdEntry(key: string): boolean {
  return FFD_UNUSED_MODULES.some((m) => key.startsWith(`${m}.`));
}

/**
 * The native (`xception_map.py`) name of a head-layout (`xception.py`) key: R3 the
 * `RegressionMap` wrapper `map.c.*` is a bare SeparableConv2d `map.*`; R1 the depthwise conv
 * `c` is `conv1`; R2 the skip BN `skip_bn` is `skipbn`. Other names are equal.
 */
export function ffdHeadToNative(key: string): string {
  return key
    .replace(/^map\.c\./, 'map.')
    .replace(/\.c\.weight$/, '.conv1.weight')
    .replace(/\.skip_bn\./, '.skipbn.');
}

/** Keys of an FFD checkpoint in the head layout (`xception.py`): a `skip_bn`, a depthwise `.c.weight` or the `map.c.` wrapper. */
export function isFfdHeadLayout(keys: Iterable<string>): boolean {
  for (const k of keys) {
    const name = k.replace(/^module\./, '');
    if (name.includes('.skip_bn.') || /\.c\.weight$/.test(name) || name.startsWith('map.c.')) return true;
  }
  return false;
}
