export { OpsDashboard } from './OpsDashboard'
