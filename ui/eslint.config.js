// ESLint 9 flat config: type-aware typescript-eslint, React hooks, and module boundaries.
//
// Boundaries (src/):
//   app/         may import features (through their index.ts only), lib/ and components/
//   features/X/  may import lib/ and components/, and its own files; never another feature nor app/
//   lib/, components/  may import lib/ and components/ only
import path from 'node:path'
import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const srcDir = path.join(import.meta.dirname, 'src')

/** The unit of a file under src/: "features/<name>", "lib/<name>", "app", "components", "." ... */
function unitOf(file) {
  const rel = path.relative(srcDir, file)
  if (rel.startsWith('..')) return null
  const parts = rel.split(path.sep)
  if (parts.length === 1) return '.' // files directly in src/ (main.tsx, index.css)
  if ((parts[0] === 'features' || parts[0] === 'lib') && parts.length > 2) {
    return `${parts[0]}/${parts[1]}`
  }
  return parts[0] ?? null
}

/**
 * Relative imports must stay inside their own unit; anything else goes through the "@/" alias,
 * where no-restricted-imports (below) decides what is allowed.
 */
const boundaries = {
  rules: {
    'no-relative-escape': {
      meta: {
        type: 'problem',
        messages: {
          escape:
            'Relative import "{{spec}}" leaves {{unit}}; import other modules as "@/..." (features only through their index).',
        },
        schema: [],
      },
      create(context) {
        const file = context.filename
        const unit = unitOf(file)
        function check(node) {
          const spec = node.source && node.source.value
          if (typeof spec !== 'string' || !spec.startsWith('.') || unit === null) return
          const target = path.resolve(path.dirname(file), spec)
          const targetUnit = unitOf(target)
          if (targetUnit !== unit) {
            context.report({ node: node.source, messageId: 'escape', data: { spec, unit } })
          }
        }
        return {
          ImportDeclaration: check,
          ExportNamedDeclaration: check,
          ExportAllDeclaration: check,
          ImportExpression: check,
        }
      },
    },
  },
}

const deepFeatureImport = {
  group: ['@/features/*/*'],
  message: 'Import a feature only through its public face: "@/features/<name>" (its index.ts).',
}

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'coverage'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      ecmaVersion: 2022,
      globals: globals.browser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'react-hooks': reactHooks, boundaries },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'boundaries/no-relative-escape': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
          message: 'Never render HTML strings: build React elements.',
        },
      ],
      'no-restricted-imports': ['error', { patterns: [deepFeatureImport] }],
    },
  },
  {
    files: ['src/features/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@/features', '@/features/*', '@/features/**'],
              message: 'Features never import each other: move shared code to src/lib or src/components.',
            },
            { group: ['@/app', '@/app/**'], message: 'Features never import the app shell.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/**/*.{ts,tsx}', 'src/components/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@/features', '@/features/**', '@/app', '@/app/**'],
              message: 'src/lib and src/components are below the features: they import neither features nor the app.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.{ts,tsx}', 'src/test/**'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
)
