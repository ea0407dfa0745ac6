// Lint: the layer rule (no runtime APIs in core or protocol code) plus TypeScript's recommended checks.
import tseslint from 'typescript-eslint';

// zod's named export `z` is its whole namespace as one object, which a bundler must then carry in full (every
// locale: 270 KB of the Worker); the namespace import lets it keep only what is used.
const zodImport = { selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']", message: "import * as z from 'zod' (the named z brings all of zod into the bundle)" };

const portMessage = 'Protocol and core code must run on workerd, Node and in browsers: use the Dialer and Crypto ports.';
const runtimeImports = {
  patterns: [
    { group: ['cloudflare:*'], message: 'Protocol and core code receive a Dialer; only src/hosts/workers may import cloudflare:*.' },
    { group: ['node:*'], message: portMessage },
  ],
  // Node's bare module names (exact names, so a protocol folder called dns or tls is not caught).
  paths: ['net', 'tls', 'dgram', 'dns', 'fs', 'child_process', 'http', 'https', 'crypto', 'os'].map((name) => ({ name, message: portMessage })),
};

const runtimeGlobals = ['window', 'document', 'navigator', 'WebSocket', 'XMLHttpRequest', 'localStorage', 'process', 'Buffer', 'setTimeout', 'setInterval'].map((name) => ({
  name,
  message: `${name} is a runtime API: protocol and core code get what they need through ports (Dialer, Crypto, the runner's deadline).`,
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', 'dist/**', '.wrangler/**', 'bench/out/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': ['error', zodImport],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/protocols/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', runtimeImports],
      'no-restricted-globals': ['error', ...runtimeGlobals],
    },
  },
  {
    // The runner's deadlines: the one place core code starts timers.
    files: ['src/core/timers.ts'],
    rules: { 'no-restricted-globals': ['error', ...runtimeGlobals.filter((g) => g.name !== 'setTimeout')] },
  },
);
