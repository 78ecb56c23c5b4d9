// Fails when src/lib/api/schema.d.ts is not what openapi-typescript makes of openapi.json
// (the server's OpenAPI document): run `npm run gen:api` after the API changed.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const fresh = join(mkdtempSync(join(tmpdir(), 'pytake-api-')), 'schema.d.ts')
execFileSync('npx', ['openapi-typescript', 'openapi.json', '-o', fresh], { stdio: 'ignore' })
if (readFileSync(fresh, 'utf8') !== readFileSync('src/lib/api/schema.d.ts', 'utf8')) {
  console.error('src/lib/api/schema.d.ts is stale: run `npm run gen:api` (after ' +
    '`.venv/bin/python -m tests.test_ui_api_types` at the repository root)')
  process.exit(1)
}
console.log('check:api: src/lib/api/schema.d.ts matches openapi.json')
