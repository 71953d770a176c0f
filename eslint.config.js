// Lint: typescript-eslint's recommended rules over sources, tests and scripts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'test/doubles/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The bundle runs under --lite-mode, without WebAssembly: undici (fetch and its classes) does
    // not load there. HTTP goes through src/net/http.ts (docs/architecture.md, "Node's flags").
    files: ['src/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['fetch', 'Headers', 'Request', 'Response', 'FormData', 'WebSocket', 'EventSource'].map(
          (name) => ({
            name,
            message: 'undici needs WebAssembly, which the bundle runs without: use src/net/http.ts',
          }),
        ),
      ],
    },
  },
);
