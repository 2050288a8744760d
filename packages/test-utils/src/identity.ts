import { createAuthority, exportAuthorityPublicKey, importAuthorityPublicKey, issueCertificate } from '@fleetmesh/protocol'
import { generateSwarmKey } from '@fleetmesh/peer'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TEST_CERTIFICATE_VALID_MS } from './constants.js'
import type { FleetAuthority, NodeRole } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

/**
 * Identities for tests: a fleet authority and swarm key per test fleet,
 * and devices (an Ed25519 key, its PeerId and a certificate from that
 * authority). Forked nodes receive theirs as plain strings
 * ({@link SerializedIdentity}) over IPC or in a JSON file.
 */

/** What every member of one test fleet shares: the authority that admits them and the pnet swarm key. */
export interface FleetKeys {
  authority: FleetAuthority
  /** PSK v1 swarm key file bytes */
  swarmKey: Uint8Array
  /** the fleet's credit grants so far, encoded (a test mesh's), which a forked node of the fleet adds at start */
  grants?: () => Uint8Array[]
}

/** A fresh fleet authority and swarm key. */
export async function createFleetKeys (): Promise<FleetKeys> {
  return { authority: await createAuthority(), swarmKey: generateSwarmKey() }
}

/** A device of a test fleet. */
export interface TestIdentity {
  privateKey: PrivateKey
  peerId: PeerId
  /** encoded certificate signed by the fleet authority */
  certificate: Uint8Array
  /** an encoded credit grant from the fleet authority to this device (`createTestGrant`), which its node adds to its ledger at start */
  grant?: Uint8Array
}

/** What {@link createTestIdentity} certifies. */
export interface TestIdentityInit {
  role: NodeRole
  /** geohash prefix @default 'u33d' */
  region?: string
  /** owner account named in the certificate (earnings roll up per owner) */
  owner?: string
  /** certify this key instead of a fresh Ed25519 key */
  privateKey?: PrivateKey
  /** certificate validity, ms @default TEST_CERTIFICATE_VALID_MS (one hour) */
  validForMs?: number
}

/**
 * A device: a fresh (or the given) Ed25519 key, its PeerId and a
 * certificate issued by `authority` for `role` in `region`.
 */
export async function createTestIdentity (authority: FleetAuthority, init: TestIdentityInit): Promise<TestIdentity> {
  const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey)
  const certificate = await issueCertificate(authority, {
    peerId,
    role: init.role,
    region: init.region ?? 'u33d',
    validForMs: init.validForMs ?? TEST_CERTIFICATE_VALID_MS,
    owner: init.owner
  })
  return { privateKey, peerId, certificate }
}

/**
 * A device identity and its fleet's keys as plain strings, for a forked
 * node (structured-clone and JSON safe).
 */
export interface SerializedIdentity {
  /** private key, protobuf, base64 */
  key: string
  /** certificate, base64 */
  certificate: string
  /** PSK v1 swarm key file, text */
  swarmKey: string
  /** the fleet authority's public key (`exportAuthorityPublicKey`) */
  authority: string
  /** credit grants, base64: the device's (`TestIdentity.grant`) and the fleet's others (`FleetKeys.grants`) */
  grants?: string[]
}

/** The fleet's part of a {@link SerializedIdentity}: the swarm key file text and the authority's public key. */
export function serializeFleetKeys (keys: FleetKeys): Pick<SerializedIdentity, 'swarmKey' | 'authority'> {
  return { swarmKey: new TextDecoder().decode(keys.swarmKey), authority: exportAuthorityPublicKey(keys.authority.publicKey) }
}

function serializedGrants (identity: TestIdentity, keys: FleetKeys): Pick<SerializedIdentity, 'grants'> {
  const all = new Set([...(identity.grant != null ? [identity.grant] : []), ...(keys.grants?.() ?? [])])
  return all.size > 0 ? { grants: [...all].map(g => Buffer.from(g).toString('base64')) } : {}
}

/** Writes `identity` and `keys` as strings for a forked node; {@link deserializeIdentity} reads them back. */
export function serializeIdentity (identity: TestIdentity, keys: FleetKeys): SerializedIdentity {
  return {
    key: Buffer.from(privateKeyToProtobuf(identity.privateKey)).toString('base64'),
    certificate: Buffer.from(identity.certificate).toString('base64'),
    ...serializedGrants(identity, keys),
    ...serializeFleetKeys(keys)
  }
}

/** What a forked node needs to start a mesh node: exactly these fields of `createMeshNode`'s init, so it can be spread into one. */
export interface DeserializedIdentity {
  privateKey: PrivateKey
  certificate: Uint8Array
  /** PSK v1 swarm key file text */
  swarmKey: string
  trustedAuthorities: PublicKey[]
  /** the credit grants the ledger adds at start (present when the identity carries some) */
  ledger?: { grants: Uint8Array[] }
}

/**
 * Reads a {@link SerializedIdentity} back.
 *
 * @throws the key or authority decoding error of @libp2p/crypto or @fleetmesh/protocol for a malformed field
 */
export function deserializeIdentity (serialized: SerializedIdentity): DeserializedIdentity {
  return {
    privateKey: privateKeyFromProtobuf(Buffer.from(serialized.key, 'base64')),
    certificate: Uint8Array.from(Buffer.from(serialized.certificate, 'base64')),
    swarmKey: serialized.swarmKey,
    trustedAuthorities: [importAuthorityPublicKey(serialized.authority)],
    ...(serialized.grants != null ? { ledger: { grants: serialized.grants.map(g => Uint8Array.from(Buffer.from(g, 'base64'))) } } : {})
  }
}
