import { expectTypeOf, test } from 'vitest'
import type { Me, TokenPair } from './types'

// Checked by the type checker (npm run typecheck): were the generated types missing or
// the routes renamed, these would be `never` and fail to compile.
test('the REST types come from the OpenAPI document', () => {
  expectTypeOf<TokenPair['access_token']>().toEqualTypeOf<string>()
  expectTypeOf<TokenPair['expires_in']>().toEqualTypeOf<number>()
  expectTypeOf<Me['role']>().toEqualTypeOf<'admin' | 'supervisor' | 'agent'>()
})
