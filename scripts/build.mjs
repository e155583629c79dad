#!/usr/bin/env node
// Builds dist/: the two entrypoints bundled by esbuild (ESM, Node 20), lazily loaded parts
// (emulators, the Kubernetes provider, CLI help) split into chunks. Every npm package stays
// external (loaded from node_modules as usual) except the Cloudflare SDK: bundled, only the
// resources the adapter names survive, where loading the package costs ~50 MiB of RSS for its
// ~1,100 resource modules. Type checking is `npm run typecheck`'s job.
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

/** Bare imports are external, but for the Cloudflare SDK (and Node's built-ins, external anyway). */
const KEEP_EXTERNAL = new Set(['better-sqlite3', 'pg', '@fastify/swagger-ui', '@kubernetes/client-node', 'pino', 'tsx']);
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
  plugins: [externalPackages],
  // Bundled CommonJS packages require Node's built-ins: give ESM chunks a `require`.
  banner: { js: "import { createRequire as __tpCreateRequire } from 'node:module'; const require = __tpCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
