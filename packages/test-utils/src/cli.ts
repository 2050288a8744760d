import { fileURLToPath } from 'node:url'
import { CLI_TIMEOUT_MS } from './constants.js'
import { spawnNode, waitExit } from './process.js'
import type { NodeProcess, NodeRun } from './process.js'

/** The `fleetmesh` CLI of @fleetmesh/daemon, run as its own process. */

/** The `fleetmesh` CLI entry of @fleetmesh/daemon (its built `dist/src/bin.js`). */
export const FLEETMESH_BIN = fileURLToPath(new URL('./bin.js', import.meta.resolve('@fleetmesh/daemon')))

/**
 * Spawns the `fleetmesh` CLI without waiting, with `DEBUG`,
 * `FLEETMESH_API` and `FLEETMESH_TOKEN` cleared (a developer's shell must
 * not steer a test), then `options.env`. Tracked for `killChildProcesses()`.
 */
export function spawnCli (args: string[], options: { env?: Record<string, string | undefined>, cwd?: string } = {}): NodeProcess {
  return spawnNode(FLEETMESH_BIN, args, { cwd: options.cwd, env: { DEBUG: '', FLEETMESH_API: '', FLEETMESH_TOKEN: '', ...options.env } })
}

/**
 * Runs the `fleetmesh` CLI to its end.
 *
 * @param options.timeoutMs - @default CLI_TIMEOUT_MS (60000)
 * @throws Error (after SIGKILL) if it runs past `timeoutMs`
 */
export async function runCli (args: string[], options: { env?: Record<string, string | undefined>, cwd?: string, timeoutMs?: number } = {}): Promise<NodeRun> {
  return waitExit(spawnCli(args, options), options.timeoutMs ?? CLI_TIMEOUT_MS)
}
