export { FlowsPage } from './FlowsPage'
