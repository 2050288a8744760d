import { createAuthority, issueCertificate } from '@fleetmesh/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { FleetAuthority, NodeRole } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** A device identity for validator tests: key, PeerId and a certificate from `authority`. */
export interface TestIdentity {
  privateKey: PrivateKey
  peerId: PeerId
  certificate: Uint8Array
}

export async function identity (authority: FleetAuthority, role: NodeRole, region: string): Promise<TestIdentity> {
  const privateKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey)
  const certificate = await issueCertificate(authority, { peerId, role, region, validForMs: 3600_000 })
  return { privateKey, peerId, certificate }
}

export { createAuthority }
