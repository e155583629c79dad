// Lint: typescript-eslint's recommended rules plus the import boundaries of docs/architecture.md.
// A file that imports across a forbidden edge of the map fails `npm run lint`.
import tseslint from 'typescript-eslint';

const layers = ['domain', 'config', 'store', 'providers', 'reconciler', 'server', 'client', 'cli', 'emulators', 'main'];

/** What each layer may import from src/ (besides itself). */
const allowed = {
  domain: [],
  config: ['domain'],
  store: ['domain'],
  providers: ['domain'],
  reconciler: ['domain', 'store', 'providers'],
  server: ['domain', 'store'],
  client: [],
  cli: ['client'],
  emulators: [],
  main: layers,
};

/** Packages only one folder may import. */
const sdkOwners = {
  cloudflare: 'providers/cloudflare',
  '@kubernetes/client-node': 'providers/kubernetes',
};

function boundaryBlock(layer) {
  const forbidden = layers.filter((l) => l !== layer && !allowed[layer].includes(l));
  const patterns = forbidden.map((l) => ({
    group: [`**/${l}/*`, `**/${l}`, `../${l}/**`],
    message: `src/${layer} may not import src/${l} (see docs/architecture.md).`,
  }));
  const paths = Object.entries(sdkOwners)
    .filter(([, owner]) => !owner.startsWith(layer))
    .map(([name, owner]) => ({ name, message: `only src/${owner} imports ${name}.` }));
  return {
    files: [`src/${layer}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns, paths }] },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bench/results/**', 'web/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // Tests read JSON answers; typing every one of them would say nothing the assertions don't.
  { files: ['test/**/*.ts', 'src/**/*.test.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  ...layers.filter((l) => l !== 'main').map(boundaryBlock),
  // providers/cloudflare and providers/kubernetes do not import each other.
  {
    files: ['src/providers/cloudflare/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/kubernetes/*'], message: 'providers stay separate.' }], paths: [{ name: '@kubernetes/client-node', message: 'only src/providers/kubernetes imports it.' }] }] },
  },
  {
    files: ['src/providers/kubernetes/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/cloudflare/*'], message: 'providers stay separate.' }], paths: [{ name: 'cloudflare', message: 'only src/providers/cloudflare imports it.' }] }] },
  },
);
