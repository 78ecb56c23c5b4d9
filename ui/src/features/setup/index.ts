export { SetupPage } from './SetupPage'
export { useSetupStatus } from './useSetupStatus'
