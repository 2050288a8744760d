/**
 * @packageDocumentation
 *
 * Private helpers for fleetmesh's tests (never published, never imported
 * by a package's `src`): loopback addresses, `waitUntil`, test identities,
 * meshes of real in-process nodes, forked node processes, Node.js scripts
 * run as processes. Fleets of `fleetmesh daemon` processes are in
 * `@fleetmesh/test-utils/fleet`.
 *
 * @example
 *
 * ```TypeScript
 * import { createTestMesh, killChildProcesses, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
 * import type { TestMesh } from '@fleetmesh/test-utils'
 *
 * describe('gossip', function () {
 *   let mesh: TestMesh
 *   beforeEach(async () => { mesh = await createTestMesh() })
 *   afterEach(async () => { await killChildProcesses(); await mesh.stop() })
 *
 *   it('reaches a vehicle', async () => {
 *     const station = await mesh.add('station', 'u33d')
 *     const vehicle = await mesh.add('vehicle', 'u33d', { bootstrap: station.getMultiaddrs().map(String) })
 *     await waitAdmitted(station, [vehicle])
 *     const got: string[] = []
 *     vehicle.subscribe('/fleetmesh/1/presence', (msg) => { got.push(new TextDecoder().decode(msg.data)) })
 *     await waitUntil(async () => {
 *       await station.publish('/fleetmesh/1/presence', new TextEncoder().encode('hello')).catch(() => {})
 *       return got.length > 0
 *     }, { timeoutMs: 10_000, intervalMs: 500, message: 'the vehicle to receive the gossip' })
 *   })
 * })
 * ```
 */
export { delayCertificate } from './admission-delay.js'
export { killChild, killChildProcesses, runningChildren, trackChild } from './children.js'
export * from './constants.js'
export { ForkedNodeError, WaitTimeoutError, FleetStartError } from './errors.js'
export { exitWithParent, forkNode, onStart, sendToParent } from './fork.js'
export type { ForkedNode, ForkNodeOptions } from './fork.js'
export { startForkedStation } from './forked-station.js'
export type { ForkedStation, ForkedStationConfig } from './forked-station.js'
export { createFleetKeys, createTestIdentity, deserializeIdentity, serializeFleetKeys, serializeIdentity } from './identity.js'
export type { DeserializedIdentity, FleetKeys, SerializedIdentity, TestIdentity, TestIdentityInit } from './identity.js'
export { createTestGrant } from './grants.js'
export { LOOPBACK_GOSSIP_WHITELIST, loopbackGossip, loopbackListen, nextLoopbackHost } from './loopback.js'
export { createTestMesh, waitAdmitted } from './mesh.js'
export type { TestMesh, TestMeshInit } from './mesh.js'
export { runNode, spawnNode, waitExit } from './process.js'
export type { NodeProcess, NodeRun, ProcessOutput, RunNodeOptions, SpawnNodeOptions } from './process.js'
export { removeTempDirs, tempDir } from './temp-dir.js'
export { delay, waitUntil } from './wait.js'
export type { WaitUntilOptions } from './wait.js'
