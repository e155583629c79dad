#!/usr/bin/env node
// Builds dist/: the two entrypoints bundled by esbuild (ESM, Node 20), lazily loaded parts
// (emulators, the Kubernetes provider, CLI help) split into chunks. npm packages are bundled
// too — a process that loads thousands of small modules pays for each in memory; the Cloudflare
// SDK alone cost ~50 MiB of RSS as ~1,100 resource modules, of which the adapter's tree-shakable
// client keeps 12 — except those that must stay files in node_modules (KEEP_EXTERNAL). Type
// checking is `npm run build`'s first step (tsconfig.build.json: the product, not its tests).
// dist/ is all the image's runtime stage takes of the build besides the production node_modules
// (deploy/Dockerfile; test/deploy/image-build.test.ts performs it); test/build.e2e.test.ts drives
// the bundle.
//   node scripts/build.mjs [--outdir DIR] [--no-sourcemap]
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = at >= 0 ? resolve(args[at + 1]) : join(root, 'dist');
const sourcemap = !args.includes('--no-sourcemap');

/**
 * Loaded from node_modules as usual: native addons (better-sqlite3; pg's optional pg-native),
 * packages that read their own files at run time (swagger-ui's static assets, pino's worker
 * transports), the Kubernetes client (large, loaded only when configured) and tsx (development).
 * Node's built-ins are external on this platform anyway.
 */
const KEEP_EXTERNAL = new Set([
  'better-sqlite3',
  'pg',
  '@fastify/swagger-ui',
  '@kubernetes/client-node',
  'pino',
  'tsx',
]);
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => {
      const pkg = a.path.startsWith('@') ? a.path.split('/').slice(0, 2).join('/') : a.path.split('/')[0];
      if (!KEEP_EXTERNAL.has(pkg)) return undefined;
      return { path: a.path, external: true };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main/tunnelplane.ts', 'src/main/tunnelctl.ts'],
  outbase: 'src',
  outdir,
  // Chunks two levels down, like the entrypoints: `new URL('../../package.json', import.meta.url)` holds.
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap,
  // No comments but license notices, no indentation (names are kept, so stack traces still name
  // their functions; the source map, when built, points into the sources): V8 keeps each chunk's
  // source in memory, at two bytes a character once a single one is not Latin-1 (a `—` in a
  // comment esbuild kept), and these were a quarter of the empty server's heap (34 -> 29 MiB used).
  minifyWhitespace: true,
  plugins: [externalPackages],
  // Bundled CommonJS packages require Node's built-ins: give ESM chunks a `require`.
  banner: {
    js: "import { createRequire as __tpCreateRequire } from 'node:module'; const require = __tpCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// The web console, into dist/web beside the entrypoints (src/server/console.ts finds it there).
const { spawnSync } = await import('node:child_process');
const web = spawnSync(
  process.execPath,
  [join(root, 'scripts', 'build-web.mjs'), '--outdir', join(outdir, 'web')],
  {
    stdio: 'inherit',
  },
);
if (web.status !== 0) process.exit(web.status ?? 1);
