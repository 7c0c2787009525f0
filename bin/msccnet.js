#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, done by scripts/setup).
import('../dist/cli/index.js');
