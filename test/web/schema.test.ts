/**
 * The API is declared once (src/web/api.ts): every answer the server sends parses with its zod
 * schema, fastify's route schemas are the ones derived from it, and the page bundle reaches no
 * server code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';
import Fastify, { type RouteOptions } from 'fastify';
import sharp from 'sharp';
import { z } from 'zod';
import type { EngineOutput, InferenceEngine } from '../../src/infer/index.js';
import { ErrorJson } from '../../src/infer/schema.js';
import { API, DetectQueryJson, DetectResponseJson, buildServer, routeSchema, type ApiRoute, type ServerOptions } from '../../src/web/index.js';
import { addApiRoutes, serverState } from '../../src/web/server.js';
import { faceImage, multipart } from './helpers.js';

/** Fixed logits (K = 2, 4² mask): P(fake) = 0.5 for 0, NaN for NaN. */
function stubEngine(value: number): InferenceEngine {
  return {
    inputSide: 32,
    name: 'stub',
    async run(_input: Float32Array, batch: number): Promise<EngineOutput> {
      return { imageLogits: new Float32Array(batch * 2).fill(value), maskLogits: new Float32Array(batch * 2 * 16).fill(value), classes: 2, maskSide: 4 };
    },
    async release() {},
  };
}

/** One face in the middle of any image wider than 50 px; none in smaller ones. */
const options = (engine: InferenceEngine): ServerOptions => ({
  engine,
  modelBytes: new Uint8Array(8),
  limits: { maxBytes: 64 * 1024, maxPixels: 1e6 },
  faceDetector: async () => ({ detect: async (_rgb, w, h) => (w > 50 ? [{ score: 0.9, box: [w / 4, h / 4, w / 2, h / 2], landmarks: [] }] : []) }),
});

/** The schema of the answer with this status, as api.ts declares it. */
function responseOf(route: ApiRoute, status: number): z.ZodType {
  const schema = route.responses[status === 200 ? 200 : status < 500 ? '4xx' : '5xx'];
  assert.ok(schema, `${route.url} declares no answer for ${status}`);
  return schema;
}

test('every answer of every JSON route parses with its schema in api.ts (strict: no field more or less)', async () => {
  const face = await readFile(faceImage());
  const grey = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#777777' } })
    .png()
    .toBuffer();
  const wide = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  const jpeg = await sharp(face).jpeg().toBuffer();
  const app = await buildServer(options(stubEngine(0)));
  const nan = await buildServer(options(stubEngine(Number.NaN)));
  try {
    const info = await app.inject({ url: API.info.url });
    assert.equal(info.statusCode, 200, info.body);
    assert.equal(API.info.responses[200].parse(info.json()).inputSide, 32);

    const cases: Array<{ server: typeof app; query: string; body: ReturnType<typeof multipart>; status: number; code?: string }> = [
      { server: app, query: '', body: multipart(face, 'face.png'), status: 200 },
      { server: app, query: '?face=false', body: multipart(grey, 'grey.png'), status: 200 },
      { server: app, query: '?face=maybe', body: multipart(face, 'face.png'), status: 400, code: 'MSCCNET_BAD_REQUEST' },
      {
        server: app,
        query: '',
        body: { payload: Buffer.from('x'), headers: { 'content-type': 'multipart/form-data' } },
        status: 400,
        code: 'MSCCNET_BAD_MULTIPART',
      },
      { server: app, query: '', body: multipart(Buffer.alloc(80 * 1024, 7), 'big.png'), status: 413, code: 'MSCCNET_TOO_LARGE' },
      { server: app, query: '', body: multipart(wide, 'wide.png'), status: 413, code: 'MSCCNET_TOO_MANY_PIXELS' },
      { server: app, query: '', body: { payload: Buffer.from('x'), headers: { 'content-type': 'text/plain' } }, status: 415, code: 'MSCCNET_MEDIA_TYPE' },
      { server: app, query: '', body: multipart(jpeg.subarray(0, jpeg.length >> 1), 'cut.jpg'), status: 422, code: 'MSCCNET_UNDECODABLE' },
      { server: app, query: '', body: multipart(grey, 'grey.png'), status: 422, code: 'MSCCNET_NO_FACE' },
      { server: nan, query: '?face=false', body: multipart(face, 'face.png'), status: 500, code: 'MSCCNET_NON_FINITE' },
    ];
    for (const c of cases) {
      const res = await c.server.inject({ method: API.detect.method, url: `${API.detect.url}${c.query}`, ...c.body });
      const what = `${c.query} ${c.code ?? ''}`;
      assert.equal(res.statusCode, c.status, `${what}: ${res.body}`);
      const body = responseOf(API.detect, res.statusCode).parse(res.json()) as { ok: boolean; error?: { code: string } };
      assert.equal(body.ok, c.status === 200, what);
      assert.equal(body.error?.code, c.code, what);
    }
    const [withFace, whole] = await Promise.all(
      ['', '?face=false'].map(async (q) =>
        DetectResponseJson.parse((await app.inject({ method: 'POST', url: `/api/detect${q}`, ...multipart(face, 'face.png') })).json()),
      ),
    );
    assert.deepEqual(
      withFace.faces.map((f) => f.detectorScore),
      [0.9],
    );
    assert.deepEqual(
      whole.faces.map((f) => [f.box, f.detectorScore]),
      [[[0, 0, 144, 144], null]],
    );
    assert.equal(whole.score, 0.5);
  } finally {
    await app.close();
    await nan.close();
  }
});

test('fastify validates and serialises with the JSON Schema derived from the zod schemas', async () => {
  const app = Fastify();
  const seen = new Map<string, RouteOptions['schema']>();
  app.addHook('onRoute', (route) => {
    seen.set(`${String(route.method)} ${route.url}`, route.schema);
  });
  addApiRoutes(app, serverState(options(stubEngine(0))));
  await app.ready();
  // (through JSON: fastify marks the schemas it compiled with a symbol)
  for (const route of Object.values(API)) assert.deepEqual(JSON.parse(JSON.stringify(seen.get(`${route.method} ${route.url}`))), routeSchema(route), route.url);

  const detect = routeSchema(API.detect);
  const ok = detect.response['200'] as { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
  assert.deepEqual(Object.keys(ok.properties), Object.keys(DetectResponseJson.shape));
  assert.deepEqual(ok.required, Object.keys(DetectResponseJson.shape));
  assert.equal(ok.additionalProperties, false);
  const failed = detect.response['4xx'] as { properties: { error: { properties: Record<string, unknown> } } };
  assert.deepEqual(Object.keys(failed.properties.error.properties), Object.keys(ErrorJson.shape));
  // The query as sent: `face` may be left out (its default applies), anything else is refused.
  assert.deepEqual(detect.querystring, {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    additionalProperties: false,
    properties: {
      face: { type: 'boolean', default: true, description: 'find faces first (false: check the whole image as one crop)' },
      images: { type: 'string', enum: ['all', 'mask', 'mask-heatmap', 'mask-overlay'], default: 'mask', description: DetectQueryJson.shape.images.description },
    },
  });

  // A field added in zod appears in the route schema, required in answers.
  const grown = routeSchema({ ...API.detect, responses: { 200: DetectResponseJson.extend({ calibrated: z.boolean() }) } });
  const grownOk = grown.response['200'] as { properties: Record<string, unknown>; required: string[] };
  assert.deepEqual(grownOk.properties.calibrated, { type: 'boolean' });
  assert.ok(grownOk.required.includes('calibrated'));
  await app.close();
});

test('the page bundle reaches no server code: no fastify, sharp, onnxruntime-node or Node built-ins', async () => {
  const { metafile } = await build({
    entryPoints: ['src/web/page/main.ts'],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    packages: 'external',
    logLevel: 'silent',
  });
  const sources = Object.keys(metafile.inputs).map((p) => relative(process.cwd(), resolve(p)));
  for (const server of ['src/web/server.ts', 'src/web/queue.ts', 'src/infer/node.ts', 'src/infer/engines.ts']) {
    assert.ok(!sources.includes(server), `the page bundles ${server}`);
  }
  assert.ok(sources.includes('src/infer/pipeline.ts') && sources.includes('src/infer/json.ts'), sources.join(', '));
  const packages = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  assert.ok(packages.includes('onnxruntime-web'), packages.join(', '));
  const banned = packages.filter((p) => /^(fastify|@fastify\/|sharp|onnxruntime-node|node:)/.test(p));
  assert.deepEqual(banned, []);
});

test("the page's sources, type imports included, reach no server module", async () => {
  // The bundle drops type-only imports; the page's typecheck does not, and server types drag fastify's and Node's in.
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { fileName } of ts.preProcessFile(await readFile(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) {
        packages.add(fileName);
        continue;
      }
      const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
      assert.ok(existsSync(target), `${file} imports ${fileName}`);
      await visit(target);
    }
  };
  await visit(resolve('src/web/page/main.ts'));
  const sources = [...seen].map((f) => relative(process.cwd(), f));
  assert.ok(sources.includes('src/web/api.ts'), sources.join(', '));
  assert.deepEqual(
    sources.filter((f) => /^src\/(web\/(server|queue)|infer\/(node|engines))\.ts$/.test(f)),
    [],
  );
  assert.deepEqual(
    [...packages].filter((p) => /^(fastify|@fastify\/|sharp|onnxruntime-node|node:)/.test(p)),
    [],
  );
});
