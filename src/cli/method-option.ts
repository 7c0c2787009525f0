/**
 * The one `--method NAME` option (train, export, detect, serve, evaluate): a registered method of
 * models/registry.ts. Files that carry our metadata name their method themselves; the option
 * chooses it for a training config and for weights without metadata (official checkpoints).
 */
import { Option } from 'commander';
import { METHOD_NAMES } from '../models/method.js';

export function methodOption(use = 'for weights without our metadata (an official .pth or bare safetensors); default msccnet'): Option {
  return new Option('--method <name>', `registered method (${METHOD_NAMES.join(', ')}), ${use}`).choices(METHOD_NAMES);
}
