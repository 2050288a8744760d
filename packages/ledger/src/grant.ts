import { randomBytes } from 'node:crypto'
import { EntryFromFutureError, InvalidConfigError, MAX_CLOCK_SKEW_MS, MAX_MARKET_STRING_LENGTH, PbGrant, PbGrantBody } from '@fleetmesh/protocol'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { GRANT_DOMAIN, GRANT_PAYLOAD_TYPE, MICRO_PER_CREDIT } from './constants.js'
import { InvalidGrantError } from './errors.js'
import { buf, sha256, signFor, toHex, verifyFor } from './signing.js'
import type { CertificateVerifier } from './certificates.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Credit grants: the fleet authority funds an account (a PeerId string or
 * an owner account) with an amount of credits until an expiry. A grant is
 * a ledger entry like a receipt (gossiped, reconciled, verified, stored);
 * its id is the sha2-256 of its body. Spending draws on the grants (see
 * `spendable`).
 */

/** Input of {@link issueGrant}. */
export interface GrantInit {
  /** PeerId string or owner account */
  account: string
  /** credits, > 0 (stored as integer micro-credits) */
  credits: number
  /** ms since the epoch; unspent credits lapse then */
  expiresAt: number
  /** ms since the epoch @default Date.now() */
  issuedAt?: number
  /** unique id @default 16 random bytes, hex */
  grantId?: string
}

/** A grant whose authority signature verified. */
export interface VerifiedGrant {
  /** hex sha2-256 of the body */
  id: string
  grantId: string
  account: string
  /** integer micro-credits */
  microCredits: number
  credits: number
  issuedAt: number
  expiresAt: number
  /** PeerId string of the authority key */
  authority: string
  grant: PbGrant
}

/** The grant id: sha2-256 of the encoded body. */
export function grantId (grant: PbGrant): Uint8Array {
  return sha256(grant.body)
}

/**
 * Signs a credit grant with the fleet authority's key.
 *
 * @throws InvalidConfigError on an empty or long account, credits ≤ 0, or an expiry not after the issue time
 */
export async function issueGrant (authorityKey: PrivateKey, init: GrantInit): Promise<PbGrant> {
  const issuedAt = init.issuedAt ?? Date.now()
  const micro = Math.round(init.credits * MICRO_PER_CREDIT)
  if (init.account.length === 0 || init.account.length > MAX_MARKET_STRING_LENGTH) throw new InvalidConfigError(`grant account must be 1..${MAX_MARKET_STRING_LENGTH} characters (a PeerId or an owner account)`)
  if (!(Number.isSafeInteger(micro) && micro > 0)) throw new InvalidConfigError(`grant of ${init.credits} credits: give a positive number of credits`)
  if (!(Number.isSafeInteger(init.expiresAt) && init.expiresAt > issuedAt)) throw new InvalidConfigError(`grant expiry ${new Date(init.expiresAt).toISOString()} is not after its issue time ${new Date(issuedAt).toISOString()}`)
  const body = PbGrantBody.encode({
    grantId: init.grantId ?? toHex(randomBytes(16)),
    account: init.account,
    microCredits: BigInt(micro),
    issuedAt: BigInt(issuedAt),
    expiresAt: BigInt(init.expiresAt),
    authority: buf(publicKeyToProtobuf(authorityKey.publicKey))
  })
  return { body: buf(body), signature: buf(await signFor(authorityKey, GRANT_DOMAIN, GRANT_PAYLOAD_TYPE, body)) }
}

/**
 * Verifies a grant: the body's fields, a trusted authority's key, its
 * signature. An expired grant still verifies (it stays in every ledger;
 * it just funds nothing after its expiry).
 *
 * @throws InvalidGrantError on a malformed grant or a key that is not a trusted authority
 * @throws InvalidSignatureError if the signature does not verify
 * @throws EntryFromFutureError if it was issued more than MAX_CLOCK_SKEW_MS in the future
 */
export async function verifyGrant (grant: PbGrant, options: { certificates: CertificateVerifier, now?: number }): Promise<VerifiedGrant> {
  let body: PbGrantBody
  try {
    body = PbGrantBody.decode(grant.body)
  } catch (err: any) {
    throw new InvalidGrantError(`grant body does not decode: ${err?.message ?? err}`)
  }
  const fail = (msg: string): never => { throw new InvalidGrantError(`grant ${body.grantId}: ${msg}`) }
  if (body.grantId.length === 0 || body.grantId.length > MAX_MARKET_STRING_LENGTH) fail('id must be 1..' + MAX_MARKET_STRING_LENGTH + ' characters')
  if (body.account.length === 0 || body.account.length > MAX_MARKET_STRING_LENGTH) fail('account must be 1..' + MAX_MARKET_STRING_LENGTH + ' characters')
  if (!(body.microCredits > 0n && body.microCredits <= BigInt(Number.MAX_SAFE_INTEGER))) fail(`amount ${body.microCredits} micro-credits is not a positive safe integer`)
  if (!(body.issuedAt < body.expiresAt && body.expiresAt <= BigInt(Number.MAX_SAFE_INTEGER))) fail('expires before it is issued')
  const issuedAt = Number(body.issuedAt)
  if (issuedAt > (options.now ?? Date.now()) + MAX_CLOCK_SKEW_MS) throw new EntryFromFutureError(`grant ${body.grantId} was issued at ${new Date(issuedAt).toISOString()}, in the future`)
  let key
  try {
    key = publicKeyFromProtobuf(body.authority)
  } catch {
    fail('names no valid authority key')
  }
  if (key == null || !options.certificates.isTrustedAuthority(key)) fail('is not signed by a trusted fleet authority')
  const authority = peerIdFromPublicKey(key as NonNullable<typeof key>)
  await verifyFor(authority, GRANT_DOMAIN, GRANT_PAYLOAD_TYPE, grant.body, grant.signature)
  const micro = Number(body.microCredits)
  return { id: toHex(grantId(grant)), grantId: body.grantId, account: body.account, microCredits: micro, credits: micro / MICRO_PER_CREDIT, issuedAt, expiresAt: Number(body.expiresAt), authority: authority.toString(), grant }
}
