export { Desk } from './Desk'
