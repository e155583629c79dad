#!/usr/bin/env node
// Packs tunnelctl for users' machines: one self-contained file (esbuild bundles src/main/tunnelctl.ts
// and everything it imports; it needs nothing but Node.js 20) in an npm package of its own, packed
// with `npm pack` into dist/tunnelctl-<version>.tgz. Install it anywhere:
//   npm install -g ./tunnelctl-<version>.tgz      (or: npx ./tunnelctl-<version>.tgz list)
//   node scripts/pack-tunnelctl.mjs [--outdir DIR]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = at >= 0 ? resolve(args[at + 1]) : join(root, 'dist');
const { version, license } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const pkgDir = mkdtempSync(join(tmpdir(), 'tunnelctl-pack-'));
try {
  await build({
    entryPoints: [join(root, 'src', 'main', 'tunnelctl.ts')],
    // Two levels down, as in the repository: tunnelctl reads its version from ../../package.json.
    outfile: join(pkgDir, 'lib', 'cli', 'tunnelctl.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: false,
    legalComments: 'inline',
    banner: {
      // A shebang, and `require` for the few CommonJS dependencies an ESM bundle may carry.
      js: "#!/usr/bin/env node\nimport { createRequire as __tpRequire } from 'node:module';\nconst require = __tpRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  writeFileSync(
    join(pkgDir, 'package.json'),
    JSON.stringify(
      {
        name: 'tunnelctl',
        version,
        description: "Tunnelplane's command line: tunnels, routes and cloudflared for your services",
        type: 'module',
        bin: { tunnelctl: 'lib/cli/tunnelctl.mjs' },
        files: ['lib/'],
        engines: { node: '>=20' },
        ...(license ? { license } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(
    join(pkgDir, 'README.md'),
    '# tunnelctl\n\nThe command line of Tunnelplane, a self-hosted control plane for Cloudflare Tunnels.\n' +
      'Point it at a server with `CONTROL_PLANE=host:port`, then `tunnelctl login` (or `login --sso`) and ' +
      '`tunnelctl --help`.\n',
  );
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', outdir], {
    cwd: pkgDir,
    encoding: 'utf8',
  });
  process.stdout.write(join(outdir, out.trim().split('\n').pop()) + '\n');
} finally {
  rmSync(pkgDir, { recursive: true, force: true });
}
