import { encodeEntry, issueGrant } from '@fleetmesh/ledger'
import { FLEET_CERTIFICATE_VALID_MS, TEST_GRANT_CREDITS } from './constants.js'
import type { FleetAuthority } from '@fleetmesh/protocol'

/**
 * Credit grants for tests: since a node needs an authority-issued grant to
 * spend (the ledger's `requireFunds`, on by default), every device of a
 * test fleet is funded by the fleet's authority.
 */

/**
 * A grant of `credits` from `authority` to `account` (a PeerId string or an
 * owner account), encoded as a grant file holds it (`LedgerInit.grants`,
 * `<dataDir>/grants/*.grant`).
 *
 * @param options.credits - @default TEST_GRANT_CREDITS (1,000,000)
 * @param options.validForMs - @default FLEET_CERTIFICATE_VALID_MS (a day)
 */
export async function createTestGrant (authority: FleetAuthority, account: string, options: { credits?: number, validForMs?: number } = {}): Promise<Uint8Array> {
  const grant = await issueGrant(authority.privateKey, { account, credits: options.credits ?? TEST_GRANT_CREDITS, expiresAt: Date.now() + (options.validForMs ?? FLEET_CERTIFICATE_VALID_MS) })
  return encodeEntry({ grant })
}
