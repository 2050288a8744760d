/**
 * Fleets of `fleetmesh daemon` processes on 127.0.0.0/8: the one launcher
 * behind `npm run testnet` (examples/testnet), the daemon's tests and the
 * root end-to-end tests. One fleet authority and swarm key in a root
 * directory, and per node a data directory with its identity, certificate
 * and config; every daemon its own process on its own loopback host,
 * reached through its local HTTP API.
 *
 * Imported as `@fleetmesh/test-utils/fleet`: it loads @fleetmesh/daemon,
 * which the rest of the package does not need.
 *
 * The building blocks: `createFleetFiles`, `createDaemonIdentity`,
 * `loopbackDaemonConfig`, `testDaemonConfig` (a full config for
 * `startDaemon` in this process), `spawnCli` / `runCli`; the whole
 * launcher: `startLocalFleet`.
 */
export { FLEETMESH_BIN, runCli, spawnCli } from './cli.js'
export { CLI_TIMEOUT_MS, FLEET_CERTIFICATE_VALID_MS, FLEET_READY_TIMEOUT_MS, FLEET_STOP_TIMEOUT_MS, GOSSIP_SETTLE_MS } from './constants.js'
export { createDaemonIdentity, createFleetFiles, loopbackDaemonConfig, shareGrants, testDaemonConfig } from './daemon-files.js'
export type { DaemonIdentity, DaemonIdentityInit, FleetFiles, LoopbackDaemonConfig } from './daemon-files.js'
export { FleetStartError } from './errors.js'
export { startLocalFleet } from './local-fleet.js'
export type { FleetDaemon, FleetNodeSpec, LocalFleet, LocalFleetInit } from './local-fleet.js'
export { waitExit } from './process.js'
export type { NodeProcess, NodeRun } from './process.js'
