// Builds the page bundle into web-dist/ (run by `npm run build:web`, and by scripts/setup):
// the page's TypeScript bundled by esbuild, its HTML and CSS, and — so nothing comes from a CDN —
// onnxruntime-web's and tfjs-backend-wasm's wasm files and face-api's detector weights.
import { build } from 'esbuild';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const page = join(root, 'src/web/page');
const out = join(root, 'web-dist');
const pkgDir = (name) => join(root, 'node_modules', name); // npm's flat layout; onnxruntime-web exports no package.json

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'vendor/ort'), { recursive: true });
await mkdir(join(out, 'vendor/tfjs'), { recursive: true });
await mkdir(join(out, 'vendor/face-api'), { recursive: true });

await build({
  entryPoints: [join(page, 'main.ts')],
  outfile: join(out, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
  // tfjs and face-api mention Node built-ins behind runtime checks; the browser build never reaches them.
  external: ['fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'util'],
});
await cp(join(page, 'index.html'), join(out, 'index.html'));
await cp(join(page, 'styles.css'), join(out, 'styles.css'));

const ortDist = join(pkgDir('onnxruntime-web'), 'dist');
for (const f of await readdir(ortDist)) {
  if (/^ort-wasm-simd-threaded\.jsep\.(wasm|mjs)$/.test(f)) await cp(join(ortDist, f), join(out, 'vendor/ort', f));
}
const tfDist = join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist');
for (const f of await readdir(tfDist)) if (f.endsWith('.wasm')) await cp(join(tfDist, f), join(out, 'vendor/tfjs', f));
const faceModels = join(pkgDir('@vladmandic/face-api'), 'model');
for (const f of await readdir(faceModels)) {
  if (/^(ssd_mobilenetv1|face_landmark_68)_model/.test(f)) await cp(join(faceModels, f), join(out, 'vendor/face-api', f));
}
