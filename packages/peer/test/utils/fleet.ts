import { createTestMesh, waitUntil as waitFor } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'

/**
 * The test fleet as inference.spec.ts and settlement.spec.ts still import
 * it; both are moving out of this package, and this file goes with them.
 * Every other spec imports @fleetmesh/test-utils directly.
 */

/** A test mesh (see `createTestMesh` of @fleetmesh/test-utils). */
export type TestFleet = TestMesh

/** A test mesh with its own authority and swarm key. */
export const createTestFleet = createTestMesh

/**
 * `waitUntil` of @fleetmesh/test-utils with positional arguments.
 *
 * @throws WaitTimeoutError after `timeoutMs` with `what` in the message
 */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 25): Promise<number> {
  return waitFor(predicate, { timeoutMs, intervalMs, message: what })
}
