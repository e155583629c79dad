#!/usr/bin/env node
// Builds the web console (web/, Vite) into dist/web, where the server reads it (src/server/console.ts).
//   node scripts/build-web.mjs [--outdir DIR] [--if-stale]
// --if-stale builds only when web/ or src/client/ changed after the last build (what `npm start`
// and the console tests use). The files are built beside the target and moved into place, so a
// server starting meanwhile never reads half a build, and two builds at once leave one whole.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outDir = at >= 0 ? resolve(args[at + 1]) : join(root, 'dist', 'web');

/** The newest modification time under `dir` (files only). */
function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const s = statSync(full);
    t = Math.max(t, s.isDirectory() ? newest(full) : s.mtimeMs);
  }
  return t;
}

const index = join(outDir, 'index.html');
if (args.includes('--if-stale') && existsSync(index)) {
  const sources = Math.max(newest(join(root, 'web')), newest(join(root, 'src', 'client')));
  if (statSync(index).mtimeMs >= sources) process.exit(0);
}

const staging = `${outDir}.build-${process.pid}`;
mkdirSync(dirname(outDir), { recursive: true });
await build({
  configFile: join(root, 'web', 'vite.config.ts'),
  build: { outDir: staging, emptyOutDir: true },
});
rmSync(outDir, { recursive: true, force: true });
try {
  renameSync(staging, outDir);
} catch (err) {
  // Another build moved its files in first: they are as good as ours.
  if (!existsSync(index)) throw err;
  rmSync(staging, { recursive: true, force: true });
}
