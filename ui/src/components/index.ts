export { Button } from './Button'
export { CenteredCard } from './CenteredCard'
export { Dialog } from './Dialog'
export { TextField } from './TextField'
