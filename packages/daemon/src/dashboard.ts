import type { FastifyInstance } from 'fastify'

/**
 * Registers the dashboard page (`GET /`) on the daemon's HTTP server.
 * Placeholder until the dashboard lands.
 */
export function registerDashboard (app: FastifyInstance): void {
  app.get('/', async (_req, reply) => reply.type('text/html').send('<!doctype html><title>fleetmesh</title><p>dashboard coming</p>'))
}
