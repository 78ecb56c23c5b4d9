import '@testing-library/jest-dom/vitest'
import { cleanup } from '@testing-library/react'
import { afterEach } from 'vitest'
import { registerMessages } from '@/lib/i18n'
import { adminEn, adminPtBR } from '@/lib/i18n/admin-messages'
import { flowsEn, flowsPtBR } from '@/lib/i18n/flows-messages'
import { opsEn, opsPtBR } from '@/lib/i18n/ops-messages'

afterEach(() => {
  cleanup()
  localStorage.clear()
})

// Components are tested without their part's index.ts, which registers the part's strings.
registerMessages(adminEn, adminPtBR)
registerMessages(flowsEn, flowsPtBR)
registerMessages(opsEn, opsPtBR)
