import { useState } from 'react'
import { Button } from '@/components'
import { t } from '@/lib/i18n'
import { setSoundEnabled, soundEnabled } from './useAttention'

function permission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission
}

/** Whether the desk may notify (the browser asks once, after a click) and ring. */
export function AlertsMenu() {
  const [allowed, setAllowed] = useState(permission)
  const [sound, setSound] = useState(soundEnabled)
  return (
    <div className="flex items-center gap-1">
      {allowed === 'default' ? (
        <Button
          variant="ghost"
          size="sm"
          onClick={() => {
            void Notification.requestPermission().then(setAllowed)
          }}
        >
          {t('desk.enableNotifications')}
        </Button>
      ) : null}
      <Button
        variant="ghost"
        size="sm"
        aria-pressed={sound}
        onClick={() => {
          setSoundEnabled(!sound)
          setSound(!sound)
        }}
      >
        {t('desk.sound')}
      </Button>
    </div>
  )
}
