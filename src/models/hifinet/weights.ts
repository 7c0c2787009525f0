import { CheckpointLayoutError } from '../errors.js';

/**
 * HiFi-Net's official weights: two checkpoints (`weights/HRNet/<iteration>.pth` and
 * `weights/NLCDetection/<iteration>.pth`, each `{'model': state dict}` of an nn.DataParallel, so
 * keys start with `module.`), and the renames of `seg_hrnet.py` `init_weights` that load an
 * ImageNet HRNet-W18-small-v2 into FENet.
 */

/** The module each official checkpoint holds, recognised by a key only it has. */
const PARTS = [
  { prefix: 'FENet.', marker: 'conv1fre.weight', file: 'weights/HRNet/<iteration>.pth' },
  { prefix: 'SegNet.', marker: 'getmask.gamma_s', file: 'weights/NLCDetection/<iteration>.pth' },
] as const;

/**
 * The two official state dicts, in either order, under our names: `module.X` of the HRNet file
 * becomes `FENet.X`, of the NLCDetection file `SegNet.X`. A part that is neither, or a module given
 * twice, is refused.
 */
export function joinOfficialCheckpoints<T>(parts: readonly { source: string; tensors: ReadonlyMap<string, T> }[]): Map<string, T> {
  const hint = `pass HiFi-Net's two official checkpoints: ${PARTS.map((p) => p.file).join(' and ')}`;
  if (parts.length !== PARTS.length) throw new CheckpointLayoutError(parts.map((p) => p.source).join(' + '), `${parts.length} checkpoint(s), not 2`, hint);
  const out = new Map<string, T>();
  const placed = new Set<string>();
  for (const { source, tensors } of parts) {
    const names = [...tensors.keys()].map((k) => k.replace(/^module\./, ''));
    const part = PARTS.find((p) => names.includes(p.marker));
    if (part === undefined) throw new CheckpointLayoutError(source, `neither FENet (${PARTS[0].marker}) nor SegNet (${PARTS[1].marker})`, hint);
    if (placed.has(part.prefix)) throw new CheckpointLayoutError(source, `a second ${part.prefix.slice(0, -1)} checkpoint`, hint);
    placed.add(part.prefix);
    for (const [k, t] of tensors) out.set(part.prefix + k.replace(/^module\./, ''), t);
  }
  return out;
}

/**
 * The FENet entries (unprefixed) that `init_weights` fills from an ImageNet HRNet-W18-small-v2 key
 * besides its own name, where the file lacks them: the frequency stem from the RGB stem (`fre`
 * dropped), stage-2 branch 2 from stage 3, stage-2 and stage-3 branch 3 from stage 4 (fuse layers
 * excepted: their shapes differ).
 */
export function hrnetImagenetAliases(key: string): string[] {
  const stem = /^(conv1|bn1|conv2|bn2)\.(.+)$/.exec(key);
  if (stem !== null) return [`${stem[1]}fre.${stem[2]}`];
  if (key.includes('fuse_layers')) return [];
  const out: string[] = [];
  if (key.startsWith('stage4.0.')) {
    out.push(key.replace('stage4.0.', 'stage3.0.'));
    if (key.includes('branches.3')) out.push(key.replace('stage4.0.', 'stage2.0.'));
  }
  if (key.startsWith('stage3.0.') && key.includes('branches.2')) out.push(key.replace('stage3.0.', 'stage2.0.'));
  return out;
}
