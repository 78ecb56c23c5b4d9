export { SetPasswordPage, tokenFromLocation } from './SetPasswordPage'
