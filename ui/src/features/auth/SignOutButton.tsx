import { useQueryClient } from '@tanstack/react-query'
import { Button } from '@/components'
import { t } from '@/lib/i18n'
import { signOut } from './session'

export function SignOutButton() {
  const queryClient = useQueryClient()
  return (
    <Button
      variant="ghost"
      size="sm"
      onClick={() => {
        void signOut().then(() => queryClient.clear())
      }}
    >
      {t('auth.signOut')}
    </Button>
  )
}
