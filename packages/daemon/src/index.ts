/**
 * @packageDocumentation
 *
 * The fleetmesh daemon: runs a mesh node from a validated config, serves a
 * local HTTP API (bearer token), Prometheus metrics and a dashboard, and
 * the `fleetmesh` CLI that talks to it.
 */
export {}
