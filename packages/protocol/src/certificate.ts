import { createHash } from 'node:crypto'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromMultihash, peerIdFromPublicKey } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { openEnvelope, sealEnvelope } from './envelope.js'
import { CertificateExpiredError, CertificateNotYetValidError, CertificatePeerMismatchError, CertificateValidityTooLongError, InvalidCertificateError, InvalidConfigError, InvalidRoleError, UnknownAuthorityError } from './errors.js'
import { MAX_CERTIFICATE_BYTES, MAX_CLOCK_SKEW_MS, MAX_JURISDICTION_LENGTH, MAX_OWNER_LENGTH } from './limits.js'
import { CertificateBody, Role as PbRole } from './pb/certificate.js'
import { CERTIFICATE_DOMAIN, CERTIFICATE_PAYLOAD_TYPE } from './protocol-ids.js'
import { assertRegion } from './region.js'
import type { Ed25519PrivateKey, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

/**
 * Device certificates ("walled garden" admission).
 *
 * A fleet authority is an Ed25519 key pair kept offline by the fleet
 * operator. It signs one certificate per device: the device's PeerId, its
 * role, its region (geohash prefix), an optional jurisdiction and a
 * validity window. Peers exchange certificates on every new connection and
 * refuse peers without a valid certificate from an authority they trust
 * (see `revocation.ts` for the authority's revocation lists).
 */

/** What a node does in the fleet (DESIGN.md "Node roles"). */
export type NodeRole = 'vehicle' | 'station'

/** The roles, for validation and help texts. */
export const NODE_ROLES: readonly NodeRole[] = ['vehicle', 'station']

/** A fleet authority: its signing key and the public key peers trust. */
export interface FleetAuthority {
  privateKey: Ed25519PrivateKey
  publicKey: PublicKey
  /** printable id of the authority: the PeerId string of its public key */
  id: string
}

/** The facts a certificate vouches for. */
export interface CertificateClaims {
  /** the device's PeerId */
  peerId: PeerId
  role: NodeRole
  /** geohash prefix of the device's home area, e.g. `u33d` */
  region: string
  /** ms since the Unix epoch */
  issuedAt: number
  /** start of validity, ms since the Unix epoch (equals `issuedAt` unless the authority set a later one) */
  notBefore: number
  /** ms since the Unix epoch */
  expiresAt: number
  /** owner account of a vehicle, '' if none */
  owner: string
  /** legal area the device's operator follows (e.g. `eu`), '' if none */
  jurisdiction: string
}

/** A certificate that verified, with the authority that signed it. */
export interface VerifiedCertificate extends CertificateClaims {
  /** id of the signing authority (see {@link FleetAuthority.id}) */
  authority: string
  /** the certificate's serial: lower-case hex sha2-256 of `bytes` (what revocation lists name) */
  serial: string
  /** the marshalled certificate envelope */
  bytes: Uint8Array
}

/** Input of {@link issueCertificate}. */
export interface IssueCertificateInit {
  peerId: PeerId
  role: NodeRole
  region: string
  /** ms since the Unix epoch; give this or `validForMs` */
  expiresAt?: number
  /**
   * validity from now, ms
   *
   * @default 365 days
   */
  validForMs?: number
  /** owner account of a vehicle */
  owner?: string
  /** ms since the Unix epoch @default Date.now() */
  issuedAt?: number
  /** start of validity, ms since the Unix epoch @default issuedAt */
  notBefore?: number
  /** legal area the device's operator follows: 1–32 of `a-z`, `0-9`, `-` (e.g. `eu`, `de-by`) @default '' (none) */
  jurisdiction?: string
}

/** Input of {@link verifyCertificate}. */
export interface VerifyCertificateOptions {
  /** public keys of the authorities this node trusts */
  trustedAuthorities: PublicKey[]
  /** if given, the certificate must be issued to this PeerId */
  peerId?: PeerId
  /** ms since the Unix epoch @default Date.now() */
  now?: number
  /**
   * clock skew tolerated on the start of validity, ms: a certificate whose
   * `notBefore` (or `issuedAt`) lies further in the future is refused
   *
   * @default MAX_CLOCK_SKEW_MS (30 s)
   */
  clockSkewMs?: number
  /**
   * longest validity (`expiresAt - notBefore`) the fleet accepts, ms; a
   * longer-lived certificate is refused. Unbounded when omitted.
   */
  maxValidityMs?: number
}

const DEFAULT_VALIDITY_MS = 365 * 24 * 3600 * 1000

/** Creates a new fleet authority with a fresh Ed25519 key. */
export async function createAuthority (): Promise<FleetAuthority> {
  return authorityFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** Wraps an existing Ed25519 private key as a fleet authority. */
export function authorityFromPrivateKey (privateKey: PrivateKey): FleetAuthority {
  if (privateKey.type !== 'Ed25519') {
    throw new InvalidConfigError(`a fleet authority key must be Ed25519, got ${privateKey.type}`)
  }
  return { privateKey, publicKey: privateKey.publicKey, id: peerIdFromPublicKey(privateKey.publicKey).toString() }
}

/** Serialises an authority's private key (libp2p protobuf, base64). Keep it offline. */
export function exportAuthority (authority: FleetAuthority): string {
  return uint8ArrayToString(privateKeyToProtobuf(authority.privateKey), 'base64')
}

/**
 * Parses a key written by {@link exportAuthority}.
 *
 * @throws InvalidConfigError if it is not a base64 Ed25519 libp2p private key
 */
export function importAuthority (encoded: string): FleetAuthority {
  try {
    return authorityFromPrivateKey(privateKeyFromProtobuf(uint8ArrayFromString(encoded.trim(), 'base64')))
  } catch (err: any) {
    if (err?.code === 'ERR_INVALID_CONFIG') throw err
    throw new InvalidConfigError(`authority key is not a base64 libp2p private key: ${err?.message ?? err}`)
  }
}

/** Serialises an authority's public key (libp2p protobuf, base64): what nodes put in `trustedAuthorities`. */
export function exportAuthorityPublicKey (publicKey: PublicKey): string {
  return uint8ArrayToString(publicKeyToProtobuf(publicKey), 'base64')
}

/**
 * Parses a public key written by {@link exportAuthorityPublicKey}.
 *
 * @throws InvalidConfigError if it is not a base64 libp2p public key
 */
export function importAuthorityPublicKey (encoded: string): PublicKey {
  try {
    return publicKeyFromProtobuf(uint8ArrayFromString(encoded.trim(), 'base64'))
  } catch (err: any) {
    throw new InvalidConfigError(`trusted authority is not a base64 libp2p public key: ${err?.message ?? err}`)
  }
}

/**
 * Checks a role string.
 *
 * @throws InvalidRoleError
 */
export function assertRole (role: unknown): NodeRole {
  if (role !== 'vehicle' && role !== 'station') {
    throw new InvalidRoleError(`role ${JSON.stringify(role)} is not one of ${NODE_ROLES.join(', ')}`)
  }
  return role
}

/**
 * Checks a jurisdiction: '' (none) or 1–MAX_JURISDICTION_LENGTH characters of `a-z`, `0-9` and `-`.
 *
 * @returns the jurisdiction
 * @throws InvalidConfigError
 */
export function assertJurisdiction (jurisdiction: unknown): string {
  if (typeof jurisdiction !== 'string' || jurisdiction.length > MAX_JURISDICTION_LENGTH || !/^[a-z0-9-]*$/.test(jurisdiction)) {
    throw new InvalidConfigError(`jurisdiction ${JSON.stringify(jurisdiction)} is not up to ${MAX_JURISDICTION_LENGTH} characters of a-z, 0-9 and '-' (e.g. "eu")`)
  }
  return jurisdiction
}

/** The serial of a marshalled certificate: lower-case hex sha2-256 of its bytes. */
export function certificateSerial (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Issues a device certificate signed by `authority`.
 *
 * @returns the marshalled certificate (a signed envelope), ~250 bytes
 * @throws InvalidRoleError, InvalidRegionError, InvalidConfigError on bad claims
 */
export async function issueCertificate (authority: FleetAuthority, init: IssueCertificateInit): Promise<Uint8Array> {
  const role = assertRole(init.role)
  const region = assertRegion(init.region)
  const issuedAt = init.issuedAt ?? Date.now()
  const notBefore = init.notBefore ?? issuedAt
  const expiresAt = init.expiresAt ?? Math.max(issuedAt, notBefore) + (init.validForMs ?? DEFAULT_VALIDITY_MS)
  const owner = init.owner ?? ''
  const jurisdiction = assertJurisdiction(init.jurisdiction ?? '')
  for (const [what, t] of [['issue time', issuedAt], ['start of validity', notBefore], ['expiry', expiresAt]] as const) {
    if (!Number.isSafeInteger(t) || t <= 0) {
      throw new InvalidConfigError(`certificate ${what} ${t} is not a positive integer of ms since the epoch`)
    }
  }
  if (owner.length > MAX_OWNER_LENGTH) {
    throw new InvalidConfigError(`owner id is ${owner.length} characters, over ${MAX_OWNER_LENGTH}`)
  }
  const body = CertificateBody.encode({
    peerId: init.peerId.toMultihash().bytes,
    role: role === 'vehicle' ? PbRole.VEHICLE : PbRole.STATION,
    region,
    issuedAt: BigInt(issuedAt),
    expiresAt: BigInt(expiresAt),
    owner,
    notBefore: notBefore === issuedAt ? 0n : BigInt(notBefore),
    jurisdiction
  })
  return sealEnvelope(authority.privateKey, CERTIFICATE_DOMAIN, CERTIFICATE_PAYLOAD_TYPE, body)
}

/**
 * Decodes a certificate without checking who signed it or when it expires.
 * For display; use {@link verifyCertificate} to admit a peer.
 *
 * @throws InvalidCertificateError, InvalidSignatureError, MessageTooLargeError
 */
export async function decodeCertificate (bytes: Uint8Array): Promise<VerifiedCertificate> {
  let opened
  try {
    opened = await openEnvelope(bytes, CERTIFICATE_DOMAIN, { payloadType: CERTIFICATE_PAYLOAD_TYPE, maxBytes: MAX_CERTIFICATE_BYTES })
  } catch (err: any) {
    if (err?.code === 'ERR_INVALID_ENVELOPE') {
      throw new InvalidCertificateError(`certificate does not decode: ${err.message}`)
    }
    throw err
  }
  let body: CertificateBody
  try {
    body = CertificateBody.decode(opened.payload, { limits: { region: 64, owner: MAX_OWNER_LENGTH * 4, jurisdiction: MAX_JURISDICTION_LENGTH * 4 } } as any)
  } catch (err: any) {
    throw new InvalidCertificateError(`certificate body does not decode: ${err?.message ?? err}`)
  }
  let peerId: PeerId
  try {
    peerId = peerIdFromMultihash(Digest.decode(body.peerId))
  } catch (err: any) {
    throw new InvalidCertificateError(`certificate names no valid PeerId: ${err?.message ?? err}`)
  }
  const role = body.role === PbRole.VEHICLE ? 'vehicle' : body.role === PbRole.STATION ? 'station' : undefined
  if (role == null) {
    throw new InvalidCertificateError(`certificate role ${body.role} is not vehicle or station`)
  }
  try {
    assertRegion(body.region)
  } catch (err: any) {
    throw new InvalidCertificateError(`certificate region is invalid: ${err.message}`)
  }
  if (body.owner.length > MAX_OWNER_LENGTH) {
    throw new InvalidCertificateError(`certificate owner id is over ${MAX_OWNER_LENGTH} characters`)
  }
  try {
    assertJurisdiction(body.jurisdiction)
  } catch (err: any) {
    throw new InvalidCertificateError(`certificate jurisdiction is invalid: ${err.message}`)
  }
  const times = [body.issuedAt, body.notBefore, body.expiresAt]
  if (times.some(t => t > BigInt(Number.MAX_SAFE_INTEGER))) {
    throw new InvalidCertificateError('certificate times are beyond the year 285,000: not ms since the epoch')
  }
  const issuedAt = Number(body.issuedAt)
  return {
    peerId,
    role,
    region: body.region,
    issuedAt,
    notBefore: body.notBefore === 0n ? issuedAt : Number(body.notBefore),
    expiresAt: Number(body.expiresAt),
    owner: body.owner,
    jurisdiction: body.jurisdiction,
    authority: opened.signer.toString(),
    serial: certificateSerial(bytes),
    bytes
  }
}

/**
 * Verifies a device certificate: well-formed, signed by a trusted authority,
 * already valid (within `clockSkewMs`), not expired, no longer-lived than
 * `maxValidityMs`, and (if `options.peerId` is given) issued to that peer.
 * Revocation is checked by the caller against its revocation lists
 * (`RevocationSet` in revocation.ts).
 *
 * @throws InvalidCertificateError if malformed
 * @throws InvalidSignatureError if the signature does not verify
 * @throws UnknownAuthorityError if the signer is not in `trustedAuthorities`
 * @throws CertificateNotYetValidError if `max(notBefore, issuedAt) > now + clockSkewMs`
 * @throws CertificateValidityTooLongError if `expiresAt - notBefore > maxValidityMs`
 * @throws CertificateExpiredError if `expiresAt <= now`
 * @throws CertificatePeerMismatchError if issued to another PeerId
 * @throws MessageTooLargeError if over MAX_CERTIFICATE_BYTES
 */
export async function verifyCertificate (bytes: Uint8Array, options: VerifyCertificateOptions): Promise<VerifiedCertificate> {
  const cert = await decodeCertificate(bytes)
  const trusted = options.trustedAuthorities.some(key => peerIdFromPublicKey(key).toString() === cert.authority)
  if (!trusted) {
    throw new UnknownAuthorityError(`certificate of ${cert.peerId} is signed by ${cert.authority}, which is not a trusted fleet authority; add its public key to trustedAuthorities or reissue the certificate`)
  }
  const now = options.now ?? Date.now()
  const validFrom = Math.max(cert.notBefore, cert.issuedAt)
  const skew = options.clockSkewMs ?? MAX_CLOCK_SKEW_MS
  if (validFrom > now + skew) {
    throw new CertificateNotYetValidError(`certificate of ${cert.peerId} is valid only from ${new Date(validFrom).toISOString()}, more than ${skew} ms from now (${new Date(now).toISOString()}); check this node's clock or wait`)
  }
  if (options.maxValidityMs != null && cert.expiresAt - cert.notBefore > options.maxValidityMs) {
    throw new CertificateValidityTooLongError(`certificate of ${cert.peerId} is valid for ${cert.expiresAt - cert.notBefore} ms, longer than this fleet's limit of ${options.maxValidityMs} ms; issue one with a shorter validity`)
  }
  if (cert.expiresAt <= now) {
    throw new CertificateExpiredError(`certificate of ${cert.peerId} expired at ${new Date(cert.expiresAt).toISOString()}; issue a new one with \`fleetmesh authority issue\``)
  }
  if (options.peerId != null && !options.peerId.equals(cert.peerId)) {
    throw new CertificatePeerMismatchError(`certificate was issued to ${cert.peerId}, but presented by ${options.peerId}`)
  }
  return cert
}

/** True if two authorities' public keys are the same key. */
export function sameKey (a: PublicKey, b: PublicKey): boolean {
  return uint8ArrayEquals(publicKeyToProtobuf(a), publicKeyToProtobuf(b))
}
