import { describe, expect, it } from 'vitest'
import { flowOf, flowRoute, mayOpen, routeOf } from './router'

describe('router', () => {
  it('names flows in their address and back', () => {
    expect(flowRoute(null)).toBe('/flows')
    expect(flowRoute('triage-2')).toBe('/flows/triage-2')
    expect(flowOf('/flows/triage-2')).toBe('triage-2')
    expect(flowOf('/flows')).toBeNull()
    expect(routeOf('/flows/triage/')).toBe('/flows/triage')
    expect(routeOf('/flows')).toBe('/flows')
    // Not a flow id: the desk, rather than a builder for a flow that cannot exist.
    expect(routeOf('/flows/a b')).toBe('/')
    expect(routeOf('/flows/x/y')).toBe('/')
    expect(routeOf('/admin')).toBe('/admin/users')
    expect(routeOf('/ops')).toBe('/ops')
    expect(routeOf('/nowhere')).toBe('/')
  })

  it('opens each section to the roles that may use it', () => {
    expect(mayOpen('agent', '/')).toBe(true)
    expect(mayOpen('agent', '/ops')).toBe(false)
    expect(mayOpen('agent', '/flows')).toBe(false)
    expect(mayOpen('agent', '/admin/users')).toBe(false)
    expect(mayOpen('supervisor', '/ops')).toBe(true)
    expect(mayOpen('supervisor', '/flows/triage')).toBe(false)
    expect(mayOpen('admin', '/flows/triage')).toBe(true)
    expect(mayOpen('admin', '/admin/audit')).toBe(true)
  })
})
