import { peerIdFromMultihash, peerIdFromPublicKey } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { openEnvelope, sealEnvelope } from './envelope.js'
import { CertificateRevokedError, InvalidConfigError, InvalidRevocationListError, StaleRevocationListError, UnknownAuthorityError } from './errors.js'
import { MAX_CLOCK_SKEW_MS, MAX_REVOCATION_ENTRIES, MAX_REVOCATION_LIST_BYTES, MAX_REVOCATION_REASON_LENGTH } from './limits.js'
import { RevocationListBody } from './pb/revocation.js'
import { REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE } from './protocol-ids.js'
import type { FleetAuthority, VerifiedCertificate } from './certificate.js'
import type { PeerId, PublicKey } from '@libp2p/interface'

/**
 * Revocation lists. A fleet authority signs a list of the certificates (by
 * serial) and devices (by PeerId) that are no longer members. Each list is
 * complete and carries a sequence number: a node keeps, per authority, the
 * list with the highest sequence and refuses every certificate it names.
 * Lists travel by gossip (`REVOCATIONS_TOPIC`), are pushed to every newly
 * admitted peer, and are stored in each node's datastore.
 */

/** One revoked certificate or device. */
export interface RevocationEntry {
  /** serial of the revoked certificate (lower-case hex sha2-256 of its bytes, `VerifiedCertificate.serial`) */
  serial?: string
  /** the revoked device: its certificates issued at or before `revokedAt` are refused */
  peerId?: PeerId
  /** when the revocation took effect, ms since the Unix epoch @default the list's issue time */
  revokedAt?: number
  /** free text for operators, up to MAX_REVOCATION_REASON_LENGTH characters @default '' */
  reason?: string
}

/** A revocation list whose signature and contents verified. */
export interface VerifiedRevocationList {
  /** id of the signing authority (its PeerId string, as `VerifiedCertificate.authority`) */
  authority: string
  /** the list replaces every list of the same authority with a lower sequence */
  sequence: number
  /** ms since the Unix epoch */
  issuedAt: number
  entries: Array<Required<Omit<RevocationEntry, 'serial' | 'peerId'>> & Pick<RevocationEntry, 'serial' | 'peerId'>>
  /** the marshalled list envelope */
  bytes: Uint8Array
}

/** Options of {@link createRevocationList}. */
export interface CreateRevocationListOptions {
  /**
   * sequence number; must exceed that of the authority's previous list
   *
   * @default issuedAt (ms since the epoch, so a later list has a higher one)
   */
  sequence?: number
  /** ms since the Unix epoch @default Date.now() */
  issuedAt?: number
}

/** Options of {@link verifyRevocationList}. */
export interface VerifyRevocationListOptions {
  /** public keys of the authorities this node trusts */
  trustedAuthorities: PublicKey[]
  /** ms since the Unix epoch @default Date.now() */
  now?: number
  /** clock skew tolerated on the list's issue time, ms @default MAX_CLOCK_SKEW_MS (30 s) */
  clockSkewMs?: number
}

const SERIAL_BYTES = 32

/**
 * Signs a revocation list with the fleet authority's key.
 *
 * @param entries - certificates (`serial`) and devices (`peerId`) to revoke; each entry names exactly one
 * @returns the marshalled list (a signed envelope), ~100 bytes plus ~50 per entry
 * @throws InvalidConfigError on an entry naming neither or both, a bad serial, too many entries, or a list over MAX_REVOCATION_LIST_BYTES
 */
export async function createRevocationList (authority: FleetAuthority, entries: RevocationEntry[], options: CreateRevocationListOptions = {}): Promise<Uint8Array> {
  const issuedAt = options.issuedAt ?? Date.now()
  const sequence = options.sequence ?? issuedAt
  if (!Number.isSafeInteger(issuedAt) || issuedAt <= 0) throw new InvalidConfigError(`revocation list issue time ${issuedAt} is not a positive integer of ms since the epoch`)
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new InvalidConfigError(`revocation list sequence ${sequence} is not a non-negative integer`)
  if (entries.length > MAX_REVOCATION_ENTRIES) throw new InvalidConfigError(`a revocation list holds at most ${MAX_REVOCATION_ENTRIES} entries, got ${entries.length}; revoke by PeerId and drop entries of expired certificates`)
  const body = RevocationListBody.encode({
    sequence: BigInt(sequence),
    issuedAt: BigInt(issuedAt),
    entries: entries.map((e, i) => {
      if ((e.serial == null) === (e.peerId == null)) throw new InvalidConfigError(`revocation entry ${i} must name exactly one of serial or peerId`)
      const reason = e.reason ?? ''
      if (reason.length > MAX_REVOCATION_REASON_LENGTH) throw new InvalidConfigError(`revocation entry ${i}: reason is over ${MAX_REVOCATION_REASON_LENGTH} characters`)
      const revokedAt = e.revokedAt ?? issuedAt
      if (!Number.isSafeInteger(revokedAt) || revokedAt < 0) throw new InvalidConfigError(`revocation entry ${i}: revokedAt ${revokedAt} is not ms since the epoch`)
      let serial = new Uint8Array(0)
      if (e.serial != null) {
        if (!/^[0-9a-f]{64}$/.test(e.serial)) throw new InvalidConfigError(`revocation entry ${i}: serial ${JSON.stringify(e.serial)} is not 64 lower-case hex characters (a certificate serial)`)
        serial = uint8ArrayFromString(e.serial, 'base16')
      }
      return {
        serial: serial as Uint8Array<ArrayBuffer>,
        peerId: (e.peerId?.toMultihash().bytes ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
        revokedAt: BigInt(revokedAt),
        reason
      }
    })
  })
  const bytes = await sealEnvelope(authority.privateKey, REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, body)
  if (bytes.byteLength > MAX_REVOCATION_LIST_BYTES) throw new InvalidConfigError(`revocation list is ${bytes.byteLength} bytes, over ${MAX_REVOCATION_LIST_BYTES}; shorten the reasons or drop entries of expired certificates`)
  return bytes
}

/**
 * Decodes a revocation list and verifies that a trusted authority signed it
 * and that it is not dated in the future (beyond `clockSkewMs`).
 *
 * @throws MessageTooLargeError if over MAX_REVOCATION_LIST_BYTES
 * @throws InvalidEnvelopeError, InvalidSignatureError if the envelope does not decode or verify
 * @throws UnknownAuthorityError if the signer is not in `trustedAuthorities`
 * @throws InvalidRevocationListError if the body is malformed or dated in the future
 */
export async function verifyRevocationList (bytes: Uint8Array, options: VerifyRevocationListOptions): Promise<VerifiedRevocationList> {
  const opened = await openEnvelope(bytes, REVOCATION_DOMAIN, { payloadType: REVOCATION_PAYLOAD_TYPE, maxBytes: MAX_REVOCATION_LIST_BYTES })
  const authority = opened.signer.toString()
  if (!options.trustedAuthorities.some(key => peerIdFromPublicKey(key).toString() === authority)) {
    throw new UnknownAuthorityError(`revocation list is signed by ${authority}, which is not a trusted fleet authority`)
  }
  let body: RevocationListBody
  try {
    body = RevocationListBody.decode(opened.payload, { limits: { entries: MAX_REVOCATION_ENTRIES } })
  } catch (err: any) {
    throw new InvalidRevocationListError(`revocation list body does not decode: ${err?.message ?? err}`)
  }
  const max = BigInt(Number.MAX_SAFE_INTEGER)
  if (body.sequence > max || body.issuedAt > max) throw new InvalidRevocationListError('revocation list sequence or issue time is out of range')
  const issuedAt = Number(body.issuedAt)
  const now = options.now ?? Date.now()
  const skew = options.clockSkewMs ?? MAX_CLOCK_SKEW_MS
  if (issuedAt > now + skew) throw new InvalidRevocationListError(`revocation list is dated ${new Date(issuedAt).toISOString()}, more than ${skew} ms in the future; check the authority's clock`)
  const entries = body.entries.map((e, i) => {
    const bad = (what: string): never => { throw new InvalidRevocationListError(`revocation entry ${i}: ${what}`) }
    if ((e.serial.byteLength === 0) === (e.peerId.byteLength === 0)) bad('must name exactly one of serial or peerId')
    if (e.serial.byteLength !== 0 && e.serial.byteLength !== SERIAL_BYTES) bad(`serial is ${e.serial.byteLength} bytes, not ${SERIAL_BYTES}`)
    if (e.revokedAt > max) bad('revokedAt is out of range')
    if (e.reason.length > MAX_REVOCATION_REASON_LENGTH) bad(`reason is over ${MAX_REVOCATION_REASON_LENGTH} characters`)
    let peerId: PeerId | undefined
    if (e.peerId.byteLength > 0) {
      try {
        peerId = peerIdFromMultihash(Digest.decode(e.peerId))
      } catch (err: any) {
        bad(`names no valid PeerId (${err?.message ?? err})`)
      }
    }
    return {
      serial: e.serial.byteLength > 0 ? uint8ArrayToString(e.serial, 'base16') : undefined,
      peerId,
      revokedAt: Number(e.revokedAt),
      reason: e.reason
    }
  })
  return { authority, sequence: Number(body.sequence), issuedAt, entries, bytes }
}

/**
 * The revocation lists a node holds: the newest per trusted authority. Pure
 * (no I/O): the node's revocation service feeds it lists and asks it about
 * certificates.
 */
export class RevocationSet {
  private readonly lists = new Map<string, VerifiedRevocationList>()
  private readonly bySerial = new Map<string, { authority: string, revokedAt: number, reason: string }>()
  private readonly byPeer = new Map<string, Array<{ authority: string, revokedAt: number, reason: string }>>()

  /**
   * Takes a verified list if it is newer than the one held for its authority.
   *
   * @throws StaleRevocationListError if the held list's sequence is equal or higher
   */
  add (list: VerifiedRevocationList): void {
    const held = this.lists.get(list.authority)
    if (held != null && held.sequence >= list.sequence) {
      throw new StaleRevocationListError(`revocation list ${list.sequence} of ${list.authority} is not newer than the held list ${held.sequence}`)
    }
    this.lists.set(list.authority, list)
    this.reindex()
  }

  /** The list held for `authority`, if any. */
  get (authority: string): VerifiedRevocationList | undefined {
    return this.lists.get(authority)
  }

  /** Every held list, one per authority. */
  all (): VerifiedRevocationList[] {
    return [...this.lists.values()]
  }

  /**
   * Why `cert` is revoked, or undefined if it is not: a serial entry of its
   * authority names it, or a PeerId entry names its device and was made at
   * or after the certificate's issue time.
   */
  revocationOf (cert: Pick<VerifiedCertificate, 'authority' | 'serial' | 'peerId' | 'issuedAt'>): { revokedAt: number, reason: string } | undefined {
    const s = this.bySerial.get(cert.serial)
    if (s != null && s.authority === cert.authority) return s
    for (const p of this.byPeer.get(cert.peerId.toString()) ?? []) {
      if (p.authority === cert.authority && cert.issuedAt <= p.revokedAt) return p
    }
    return undefined
  }

  /**
   * Checks a certificate against the held lists.
   *
   * @throws CertificateRevokedError if it is revoked
   */
  assertNotRevoked (cert: Pick<VerifiedCertificate, 'authority' | 'serial' | 'peerId' | 'issuedAt'>): void {
    const r = this.revocationOf(cert)
    if (r != null) {
      throw new CertificateRevokedError(`certificate of ${cert.peerId} was revoked by its authority at ${new Date(r.revokedAt).toISOString()}${r.reason !== '' ? ` (${r.reason})` : ''}; the device needs a new certificate`)
    }
  }

  private reindex (): void {
    this.bySerial.clear()
    this.byPeer.clear()
    for (const list of this.lists.values()) {
      for (const e of list.entries) {
        const v = { authority: list.authority, revokedAt: e.revokedAt, reason: e.reason }
        if (e.serial != null) this.bySerial.set(e.serial, v)
        if (e.peerId != null) {
          const k = e.peerId.toString()
          this.byPeer.set(k, [...(this.byPeer.get(k) ?? []), v])
        }
      }
    }
  }
}
