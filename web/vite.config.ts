// Builds the console (scripts/build-web.mjs runs this into dist/web). Preact through the JSX
// transform Vite has (oxc): no Babel, no plugin. Nothing is inlined: the server's CSP allows only
// this origin's files, so every script and style is a file of its own.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
