/**
 * The de-duplication of the official `main()` in `test_segmentor.py`: walk the gathered list in
 * order and keep an entry only if its id was not seen, so the first occurrence wins even when a
 * later one differs. This removes the 5× repeated real frames and DistributedSampler's padding.
 */
export function firstOccurrences<T>(items: readonly T[], idOf: (item: T) => string): T[] {
  const seen = new Set<string>();
  const kept: T[] = [];
  for (const item of items) {
    const id = idOf(item);
    if (seen.has(id)) continue;
    seen.add(id);
    kept.push(item);
  }
  return kept;
}
