/**
 * Typed errors shared by every fleetmesh package.
 *
 * Each class has a stable `name` (the class name) and `code` (an
 * `ERR_*` string). Test and branch on `err.name` or `err.code`, never on
 * `instanceof`: two copies of a package in one program break `instanceof`.
 */

/**
 * What a gossip validator does with a message that raised an error
 * (lodestar's pattern): `reject` penalises the sender's gossipsub score,
 * `ignore` drops the message without a penalty.
 */
export type ValidationAction = 'reject' | 'ignore'

/** Options of a {@link FleetmeshError}. */
export interface FleetmeshErrorOptions {
  /**
   * how a gossip validator should treat the message, chosen where the error
   * is thrown (an expired or replayed message an honest forwarder may pass
   * on is `ignore`) @default 'reject' (or the class's own action)
   */
  action?: ValidationAction
  /** the error that caused this one */
  cause?: unknown
}

/** Base class: every fleetmesh error carries a stable `code`. */
export abstract class FleetmeshError extends Error {
  abstract readonly code: string
  /** how a gossip validator should treat a message that raised this error */
  readonly action: ValidationAction

  constructor (message?: string, options: FleetmeshErrorOptions = {}) {
    super(message, options.cause != null ? { cause: options.cause } : undefined)
    this.action = options.action ?? 'reject'
  }
}

/** A message or frame is larger than the limit for its kind. */
export class MessageTooLargeError extends FleetmeshError {
  override readonly name = 'MessageTooLargeError'
  readonly code = 'ERR_MESSAGE_TOO_LARGE'
  /** size of the message, bytes */
  readonly size: number
  /** the limit it broke, bytes */
  readonly limit: number

  constructor (what: string, size: number, limit: number) {
    super(`${what} is ${size} bytes, over the limit of ${limit} bytes; send a smaller one or raise the limit on the receiving node`)
    this.size = size
    this.limit = limit
  }
}

/** Bytes that should hold a signed envelope could not be decoded. */
export class InvalidEnvelopeError extends FleetmeshError {
  override readonly name = 'InvalidEnvelopeError'
  readonly code = 'ERR_INVALID_ENVELOPE'
}

/** A signature does not verify for the expected domain and key. */
export class InvalidSignatureError extends FleetmeshError {
  override readonly name = 'InvalidSignatureError'
  readonly code = 'ERR_INVALID_SIGNATURE'
}

/** A certificate is malformed: it does not decode or a field is invalid. */
export class InvalidCertificateError extends FleetmeshError {
  override readonly name = 'InvalidCertificateError'
  readonly code = 'ERR_INVALID_CERTIFICATE'
}

/** A certificate's expiry lies in the past. */
export class CertificateExpiredError extends FleetmeshError {
  override readonly name = 'CertificateExpiredError'
  readonly code = 'ERR_CERTIFICATE_EXPIRED'
}

/** A certificate was signed by a key that is not a trusted fleet authority. */
export class UnknownAuthorityError extends FleetmeshError {
  override readonly name = 'UnknownAuthorityError'
  readonly code = 'ERR_UNKNOWN_AUTHORITY'
}

/** A valid certificate was presented by a peer it was not issued to. */
export class CertificatePeerMismatchError extends FleetmeshError {
  override readonly name = 'CertificatePeerMismatchError'
  readonly code = 'ERR_CERTIFICATE_PEER_MISMATCH'
}

/** A region is not a geohash prefix (base32 alphabet `0-9b-hjkmnp-z`, 1–12 chars). */
export class InvalidRegionError extends FleetmeshError {
  override readonly name = 'InvalidRegionError'
  readonly code = 'ERR_INVALID_REGION'
}

/** A role is not `vehicle` or `station`. */
export class InvalidRoleError extends FleetmeshError {
  override readonly name = 'InvalidRoleError'
  readonly code = 'ERR_INVALID_ROLE'
}

/** A configuration value given by a user or an integrator is wrong. */
export class InvalidConfigError extends FleetmeshError {
  override readonly name = 'InvalidConfigError'
  readonly code = 'ERR_INVALID_CONFIG'
}

/** A tensor's dtype, shape or data do not fit together, or it is not a tensor at all. */
export class InvalidTensorError extends FleetmeshError {
  override readonly name = 'InvalidTensorError'
  readonly code = 'ERR_INVALID_TENSOR'
}

/** A market message's expiry lies in the past, or its issue time lies too far in the future. */
export class MessageExpiredError extends FleetmeshError {
  override readonly name = 'MessageExpiredError'
  readonly code = 'ERR_MESSAGE_EXPIRED'
}

/** A signed market message was seen before (same signer and nonce) within the replay window. */
export class ReplayedMessageError extends FleetmeshError {
  override readonly name = 'ReplayedMessageError'
  readonly code = 'ERR_REPLAYED_MESSAGE'
}

/** A market message is malformed: no body or several, missing fields, values out of range, wrong kind for its topic or stream. */
export class InvalidMarketMessageError extends FleetmeshError {
  override readonly name = 'InvalidMarketMessageError'
  readonly code = 'ERR_INVALID_MARKET_MESSAGE'
}

/** A market message's signer is not the peer it names (requester, bidder) or not the peer that sent it. */
export class SignerMismatchError extends FleetmeshError {
  override readonly name = 'SignerMismatchError'
  readonly code = 'ERR_SIGNER_MISMATCH'
}

/** A message scoped to one region came from, or names, another region. */
export class RegionMismatchError extends FleetmeshError {
  override readonly name = 'RegionMismatchError'
  readonly code = 'ERR_REGION_MISMATCH'
}

/** A message arrived through a peer that is not admitted; dropped without a penalty (unless the thrower says `reject`: a refused peer). */
export class NotAdmittedError extends FleetmeshError {
  override readonly name = 'NotAdmittedError'
  readonly code = 'ERR_NOT_ADMITTED'

  constructor (message?: string, options: FleetmeshErrorOptions = {}) {
    super(message, { action: 'ignore', ...options })
  }
}

/** A work receipt is malformed, inconsistent, or its signatures or certificates do not verify. */
export class InvalidReceiptError extends FleetmeshError {
  override readonly name = 'InvalidReceiptError'
  readonly code = 'ERR_INVALID_RECEIPT'
}

/** A receipt that must move credits carries no requester countersignature. */
export class NotCountersignedError extends FleetmeshError {
  override readonly name = 'NotCountersignedError'
  readonly code = 'ERR_NOT_COUNTERSIGNED'
}

/** A receipt or evidence record is dated too far in the future; dropped without a penalty (it may be valid later). */
export class EntryFromFutureError extends FleetmeshError {
  override readonly name = 'EntryFromFutureError'
  readonly code = 'ERR_ENTRY_FROM_FUTURE'
  override readonly action = 'ignore'
}

/** Evidence against a worker is malformed or does not prove what it claims. */
export class InvalidEvidenceError extends FleetmeshError {
  override readonly name = 'InvalidEvidenceError'
  readonly code = 'ERR_INVALID_EVIDENCE'
}

/** A peer broke the receipt reconciliation protocol (bad range, too many rounds, unasked entries). */
export class ReconcileProtocolError extends FleetmeshError {
  override readonly name = 'ReconcileProtocolError'
  readonly code = 'ERR_RECONCILE_PROTOCOL'
}

/** A certificate's validity starts (`notBefore`, else `issuedAt`) later than now plus the tolerated clock skew. */
export class CertificateNotYetValidError extends FleetmeshError {
  override readonly name = 'CertificateNotYetValidError'
  readonly code = 'ERR_CERTIFICATE_NOT_YET_VALID'
}

/** A certificate is valid for longer than the fleet allows (`maxValidityMs`). */
export class CertificateValidityTooLongError extends FleetmeshError {
  override readonly name = 'CertificateValidityTooLongError'
  readonly code = 'ERR_CERTIFICATE_VALIDITY_TOO_LONG'
}

/** A certificate, or the device it was issued to, is on its authority's revocation list. */
export class CertificateRevokedError extends FleetmeshError {
  override readonly name = 'CertificateRevokedError'
  readonly code = 'ERR_CERTIFICATE_REVOKED'
}

/** A revocation list is malformed: it does not decode, or an entry is invalid. */
export class InvalidRevocationListError extends FleetmeshError {
  override readonly name = 'InvalidRevocationListError'
  readonly code = 'ERR_INVALID_REVOCATION_LIST'
}

/** A revocation list is not newer than the one already held for its authority; dropped without a penalty (an honest peer may forward it late). */
export class StaleRevocationListError extends FleetmeshError {
  override readonly name = 'StaleRevocationListError'
  readonly code = 'ERR_STALE_REVOCATION_LIST'
  override readonly action = 'ignore'
}
