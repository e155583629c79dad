// Lint: typescript-eslint's recommended rules plus the import boundaries of docs/architecture.md.
// A file that imports across a forbidden edge of the map fails `npm run lint`.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';

const layers = [
  'domain',
  'config',
  'store',
  'providers',
  'identity',
  'reconciler',
  'webhooks',
  'server',
  'client',
  'cli',
  'emulators',
  'main',
];

/** What each layer may import from src/ (besides itself). */
const allowed = {
  domain: [],
  config: ['domain'],
  store: ['domain'],
  providers: ['domain'],
  /** The identity provider's adapter (openid-client) and the local provider for dev and tests. */
  identity: ['domain'],
  reconciler: ['domain', 'store', 'providers'],
  /** Operator-configured webhooks: the dispatcher beside the reconciler. */
  webhooks: ['domain', 'store'],
  server: ['domain', 'store', 'identity'],
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

/** The rule for files under `dir` (a layer, or one provider inside `providers`). */
function boundaryBlock(layer, dir = layer) {
  const forbidden = layers.filter((l) => l !== layer && !allowed[layer].includes(l));
  const patterns = forbidden.map((l) => ({
    group: [`**/${l}/*`, `**/${l}`, `../${l}/**`],
    message: `src/${layer} may not import src/${l} (see docs/architecture.md).`,
  }));
  // Providers stay separate from each other.
  if (layer === 'providers') {
    const other = dir.endsWith('cloudflare') ? 'kubernetes' : 'cloudflare';
    patterns.push({
      group: [`**/${other}/*`, `../${other}/**`],
      message: 'providers do not import each other.',
    });
  }
  const foreignSdks = Object.entries(sdkOwners).filter(
    ([, owner]) => !(`providers/${dir.split('/')[1] ?? ''}` === owner),
  );
  const paths = foreignSdks.map(([name, owner]) => ({ name, message: `only src/${owner} imports ${name}.` }));
  // Its subpaths too (`cloudflare/error`, `cloudflare/resources/…`).
  for (const [name, owner] of foreignSdks)
    patterns.push({ group: [`${name}/*`], message: `only src/${owner} imports ${name}.` });
  return {
    files: [`src/${dir}/**/*.ts`],
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
      // Prettier wraps code at 110; this bounds what it cannot wrap (comments), leaving long strings whole.
      'max-len': [
        'error',
        {
          code: 140,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
  // No import circles in the product, dynamic imports included: each part's dependencies point one way.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts'],
    },
    rules: { 'import-x/no-cycle': ['error', { allowUnsafeDynamicCyclicDependency: false }] },
  },
  // Tests read JSON answers; typing every one of them would say nothing the assertions don't.
  {
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // The console runs in browsers and is a client like the CLI: of src/ it imports only src/client.
  {
    files: ['web/**/*.{ts,tsx}'],
    ignores: ['web/vite.config.ts'],
    languageOptions: { globals: globals.browser },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)src/(?!client/)',
              message: 'web/ talks to the API through src/client only (see docs/architecture.md).',
            },
            { regex: '^node:', message: 'web/ runs in browsers: no Node built-ins.' },
          ],
        },
      ],
    },
  },
  ...layers.filter((l) => l !== 'main' && l !== 'providers').map((l) => boundaryBlock(l)),
  boundaryBlock('providers', 'providers/cloudflare'),
  boundaryBlock('providers', 'providers/kubernetes'),
);
