import { randomBytes } from 'node:crypto'
import {
  assertJurisdiction, BidderRole, DTYPE_BYTES, InvalidMarketMessageError, JobMode, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, MarketMessage, MAX_BID_ADDRS, MAX_CLOCK_SKEW_MS, MAX_HEARTBEAT_LEASES,
  MAX_JOB_DEADLINE_MS, MAX_MARKET_MESSAGE_TTL_MS, MAX_MARKET_STRING_LENGTH, MAX_NO_BID_BYTES, MAX_OFFER_INPUT_RANK, MAX_OFFER_INPUTS, MAX_SHARDS, MessageExpiredError,
  MessageTooLargeError, openEnvelope, RegionMismatchError, ReplayedMessageError, sealEnvelope, SignerMismatchError, verifyCertificate
} from '@fleetmesh/protocol'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { parseBidAddrs } from './bid-addrs.js'
import { MAX_REPLAY_ENTRIES, MESSAGE_TTL_MS } from './constants.js'
import { UnknownJobError } from './errors.js'
import type { Ack, Accept, Award, Bid, Cancel, Complete, Decline, Heartbeat, JobOffer, NoBid, Release, VerifiedCertificate } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

/**
 * Market messages on the wire: sealing into signed envelopes, and the pure
 * validation every received message goes through before it reaches the
 * auction or the worker (gossip validators and the direct stream alike).
 */

/** The body kinds of a {@link MarketMessage}. */
export type MarketBodyKind = 'offer' | 'bid' | 'award' | 'accept' | 'decline' | 'heartbeat' | 'release' | 'cancel' | 'complete' | 'ack' | 'noBid'

/** All body kinds, in field order. */
export const MARKET_BODY_KINDS: readonly MarketBodyKind[] = ['offer', 'bid', 'award', 'accept', 'decline', 'heartbeat', 'release', 'cancel', 'complete', 'ack', 'noBid']

/** Exactly one body of a market message. */
export type MarketBody =
  { offer: JobOffer } | { bid: Bid } | { award: Award } | { accept: Accept } | { decline: Decline } |
  { heartbeat: Heartbeat } | { release: Release } | { cancel: Cancel } | { complete: Complete } | { ack: Ack } | { noBid: NoBid }

/** Largest message of a body kind on the direct stream, bytes, where it is below MAX_MARKET_DIRECT_BYTES. */
const KIND_MAX_BYTES: Partial<Record<MarketBodyKind, number>> = { noBid: MAX_NO_BID_BYTES }

/** A stable refusal code of a `NoBid`: capital letters and `_`, 1..32 characters (see NoBidCode in index.ts). */
const NO_BID_CODE = /^[A-Z][A-Z_]{0,31}$/

/** Input of {@link sealMarketMessage}. */
export interface SealMarketInit {
  /** the sender's node key (its PeerId's key) */
  privateKey: PrivateKey
  /** the sender's device certificate bytes, carried in the header */
  certificate: Uint8Array
  /** ms since the epoch @default Date.now() */
  now?: number
  /** lifetime, ms @default MESSAGE_TTL_MS (60000) */
  ttlMs?: number
}

/**
 * Builds a market message (header: issue time, expiry, 16-byte random nonce,
 * certificate; plus `body`) and seals it in a signed envelope.
 *
 * @returns the marshalled envelope
 */
export async function sealMarketMessage (body: MarketBody, init: SealMarketInit): Promise<Uint8Array> {
  const now = init.now ?? Date.now()
  const msg: MarketMessage = {
    issuedAt: BigInt(now),
    expiresAt: BigInt(now + (init.ttlMs ?? MESSAGE_TTL_MS)),
    nonce: new Uint8Array(randomBytes(16)),
    certificate: init.certificate as Uint8Array<ArrayBuffer>,
    ...body
  }
  return sealEnvelope(init.privateKey, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, MarketMessage.encode(msg))
}

/**
 * The kind of the one body a message carries.
 *
 * @throws InvalidMarketMessageError if it carries none or several
 */
export function bodyKind (msg: MarketMessage): MarketBodyKind {
  const kinds = MARKET_BODY_KINDS.filter(k => msg[k] != null)
  if (kinds.length !== 1) {
    throw new InvalidMarketMessageError(`a market message must carry exactly one body, this one carries ${kinds.length === 0 ? 'none' : kinds.join(', ')}`)
  }
  return kinds[0] as MarketBodyKind
}

/**
 * The replay window: remembers `(signer, nonce)` of every accepted message
 * until the message expires. A message is bounded to
 * MAX_MARKET_MESSAGE_TTL_MS, so entries live at most that long. When more
 * than `maxEntries` are live the oldest are dropped first (a replay of a
 * dropped entry is then caught only by its expiry).
 */
export class ReplayWindow {
  private readonly seen = new Map<string, number>()
  private readonly maxEntries: number

  /** @param maxEntries - entries kept at most @default MAX_REPLAY_ENTRIES (100000) */
  constructor (maxEntries: number = MAX_REPLAY_ENTRIES) {
    this.maxEntries = maxEntries
  }

  private static key (signer: string, nonce: Uint8Array): string {
    return `${signer}/${uint8ArrayToString(nonce, 'base64')}`
  }

  /** True if `(signer, nonce)` was recorded and has not expired by `now` (ms). */
  has (signer: string, nonce: Uint8Array, now: number): boolean {
    const exp = this.seen.get(ReplayWindow.key(signer, nonce))
    return exp != null && exp >= now
  }

  /** Records `(signer, nonce)` until `expiresAt` (ms since the epoch); prunes expired entries as it goes. */
  record (signer: string, nonce: Uint8Array, expiresAt: number, now: number): void {
    this.seen.set(ReplayWindow.key(signer, nonce), expiresAt)
    if (this.seen.size > this.maxEntries) {
      for (const [k, exp] of this.seen) {
        if (this.seen.size <= this.maxEntries * 0.9) break
        if (exp < now || this.seen.size > this.maxEntries) this.seen.delete(k)
      }
    }
  }

  /** live entries */
  get size (): number {
    return this.seen.size
  }
}

/**
 * Verified certificates by their bytes, so a certificate carried in every
 * message is checked once (signature) and then only for expiry and subject.
 */
export class CertificateCache {
  private readonly certs = new Map<string, VerifiedCertificate>()
  constructor (private readonly maxEntries = 10_000) {}

  /**
   * Verifies `bytes` (cached) and checks it is issued to `peerId` and not
   * expired at `now`.
   *
   * @throws the errors of `verifyCertificate`
   */
  async verify (bytes: Uint8Array, peerId: PeerId, trustedAuthorities: PublicKey[], now: number): Promise<VerifiedCertificate> {
    const key = uint8ArrayToString(bytes, 'base64')
    const cached = this.certs.get(key)
    if (cached != null && cached.expiresAt > now && cached.peerId.equals(peerId)) return cached
    const cert = await verifyCertificate(bytes, { trustedAuthorities, peerId, now })
    if (this.certs.size >= this.maxEntries) this.certs.delete(this.certs.keys().next().value as string)
    this.certs.set(key, cert)
    return cert
  }
}

/** What {@link validateMarketMessage} checks a message against. Plain inputs; `now` makes it deterministic. */
export interface MarketValidationContext {
  /** ms since the epoch */
  now: number
  /** fleet authorities whose certificates are accepted */
  trustedAuthorities: PublicKey[]
  /** the receiver's replay window; a message that passes is recorded in it */
  replay: ReplayWindow
  /** cache of verified certificates @default a fresh cache */
  certificates?: CertificateCache
  /** largest accepted message (the whole envelope), bytes */
  maxBytes: number
  /** the body kinds acceptable here (e.g. `['offer']` on an offers topic) */
  expect: readonly MarketBodyKind[]
  /** the region of the gossip topic the message arrived on; an offer must name it, a bidder's certificate must be issued for it */
  region?: string
  /** on a direct stream: the remote peer, who must be the signer */
  from?: PeerId
}

/** A message that passed {@link validateMarketMessage}. */
export interface ValidatedMarketMessage {
  message: MarketMessage
  kind: MarketBodyKind
  /** the envelope's signer */
  signer: PeerId
  /** the signer's verified certificate (from the message header) */
  certificate: VerifiedCertificate
}

function checkString (what: string, s: string, required = true): void {
  if (required && s.length === 0) throw new InvalidMarketMessageError(`${what} is empty`)
  if (s.length > MAX_MARKET_STRING_LENGTH) throw new InvalidMarketMessageError(`${what} is ${s.length} characters, over ${MAX_MARKET_STRING_LENGTH}`)
}

function checkNumber (what: string, n: number, min: number, max: number): void {
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidMarketMessageError(`${what} is ${n}, outside ${min}..${max}`)
}

function samePeer (bytes: Uint8Array, peer: PeerId): boolean {
  const mh = peer.toMultihash().bytes
  if (bytes.byteLength !== mh.byteLength) return false
  for (let i = 0; i < mh.byteLength; i++) if (bytes[i] !== mh[i]) return false
  return true
}

/**
 * Checks the fields of a job offer (ranges, sizes). Exported for the
 * requester, which checks its own offers before publishing.
 *
 * @throws InvalidMarketMessageError naming the bad field
 */
export function checkOfferFields (offer: JobOffer, now: number): void {
  checkString('offer jobId', offer.jobId)
  checkString('offer modelCid', offer.modelCid)
  if (offer.mode !== JobMode.DATA && offer.mode !== JobMode.PIPELINE) throw new InvalidMarketMessageError(`offer mode ${offer.mode} is not DATA or PIPELINE`)
  if (offer.shardUnits.length === 0 || offer.shardUnits.length > MAX_SHARDS) throw new InvalidMarketMessageError(`offer has ${offer.shardUnits.length} shards, not 1..${MAX_SHARDS}`)
  for (const u of offer.shardUnits) if (u <= 0n || u > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidMarketMessageError(`offer shard size ${u} units is not a positive safe integer`)
  checkNumber('offer maxPricePerUnit', offer.maxPricePerUnit, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER)
  if (Number(offer.deadline) <= now) throw new InvalidMarketMessageError(`offer deadline ${offer.deadline} has passed`, { action: 'ignore' })
  if (Number(offer.deadline) > now + MAX_JOB_DEADLINE_MS + MAX_CLOCK_SKEW_MS) {
    throw new InvalidMarketMessageError(`offer deadline ${offer.deadline} is more than MAX_JOB_DEADLINE_MS (${MAX_JOB_DEADLINE_MS} ms) away; no fleet member takes a job that long`)
  }
  checkNumber('offer redundancy', offer.redundancy, 1, 16)
  checkNumber('offer minReputation', offer.minReputation, 0, 1)
  checkNumber('offer bidWindowMs', offer.bidWindowMs, 0, 60_000)
  for (const s of offer.openShards) if (s >= offer.shardUnits.length) throw new InvalidMarketMessageError(`offer open shard ${s} is not one of its ${offer.shardUnits.length} shards`)
  if (offer.modelBytes != null) checkNumber('offer modelBytes', Number(offer.modelBytes), 1, Number.MAX_SAFE_INTEGER)
  if (offer.maxFrameBytes != null) checkNumber('offer maxFrameBytes', Number(offer.maxFrameBytes), 1, Number.MAX_SAFE_INTEGER)
  checkOfferInputs('offer', offer.inputs ?? [])
  if ((offer.jurisdiction ?? '') !== '') {
    try { assertJurisdiction(offer.jurisdiction) } catch (err: any) { throw new InvalidMarketMessageError(`offer jurisdiction: ${err?.message ?? err}`) }
  }
}

/**
 * Checks the input shapes of an offer (or a job spec): at most
 * MAX_OFFER_INPUTS inputs, each with a name (1..MAX_MARKET_STRING_LENGTH
 * characters, distinct), an element type onnxruntime names (float32,
 * int64, ...) and at most MAX_OFFER_INPUT_RANK non-negative integer
 * dimensions below 2^32.
 *
 * @throws InvalidMarketMessageError naming the bad input
 */
export function checkOfferInputs (what: string, inputs: ReadonlyArray<{ name: string, dtype: string, dims: readonly number[] }>): void {
  if (inputs.length > MAX_OFFER_INPUTS) throw new InvalidMarketMessageError(`${what} lists ${inputs.length} inputs, over ${MAX_OFFER_INPUTS}`)
  const names = new Set<string>()
  for (const input of inputs) {
    if (typeof input?.name !== 'string') throw new InvalidMarketMessageError(`${what} input has no name`)
    checkString(`${what} input name`, input.name)
    if (names.has(input.name)) throw new InvalidMarketMessageError(`${what} lists input "${input.name}" twice`)
    names.add(input.name)
    if (!Object.hasOwn(DTYPE_BYTES, input.dtype)) throw new InvalidMarketMessageError(`${what} input "${input.name}" has element type "${String(input.dtype).slice(0, 32)}"; use one of ${Object.keys(DTYPE_BYTES).join(', ')}`)
    if (!Array.isArray(input.dims) || input.dims.length > MAX_OFFER_INPUT_RANK) throw new InvalidMarketMessageError(`${what} input "${input.name}" needs a shape of at most ${MAX_OFFER_INPUT_RANK} dimensions`)
    for (const d of input.dims) {
      if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new InvalidMarketMessageError(`${what} input "${input.name}" has dimension ${d}, not an integer in 0..${0xffffffff}`)
    }
  }
}

/**
 * Checks the fields of a bid.
 *
 * @throws InvalidMarketMessageError naming the bad field
 */
export function checkBidFields (bid: Bid): void {
  checkString('bid jobId', bid.jobId)
  checkNumber('bid pricePerUnit', bid.pricePerUnit, 0, Number.MAX_SAFE_INTEGER)
  checkNumber('bid msPerUnit', bid.msPerUnit, 0, 3_600_000)
  checkNumber('bid capacity', bid.capacity, 1, MAX_SHARDS)
  if (bid.role !== BidderRole.VEHICLE && bid.role !== BidderRole.STATION) throw new InvalidMarketMessageError(`bid role ${bid.role} is not VEHICLE or STATION`)
  parseBidAddrs(bid.addrs ?? [])
}

/**
 * Checks the fields of a `NoBid`: job id, a stable code (capital letters
 * and `_`, at most 32), a message of at most MAX_MARKET_STRING_LENGTH
 * characters, and an asking price that is a non-negative number.
 *
 * @throws InvalidMarketMessageError naming the bad field
 */
export function checkNoBidFields (noBid: NoBid): void {
  checkString('noBid jobId', noBid.jobId)
  if (!NO_BID_CODE.test(noBid.code)) throw new InvalidMarketMessageError(`noBid code "${noBid.code.slice(0, 40)}" is not 1..32 capital letters or _`)
  checkString('noBid message', noBid.message, false)
  if (noBid.askPricePerUnit != null) checkNumber('noBid askPricePerUnit', noBid.askPricePerUnit, 0, Number.MAX_SAFE_INTEGER)
}

/** The requester's view of one of its jobs, as {@link checkNoBid} needs it. */
export interface NoBidJobView {
  jobId: string
  /** the latest offer round published */
  round: number
  /** the job's region */
  region: string
}

/**
 * Checks a validated `NoBid` against the requester's jobs: the job must be
 * one this node runs (`job` undefined: it is not, or it ended), the round
 * one that was offered, and the worker certified for the job's region.
 *
 * @throws UnknownJobError if the job is not running here (a late answer; ignore)
 * @throws InvalidMarketMessageError if the round was never offered
 * @throws RegionMismatchError if the worker is certified for another region
 */
export function checkNoBid (noBid: NoBid, job: NoBidJobView | undefined, worker: VerifiedCertificate): void {
  if (job == null || job.jobId !== noBid.jobId) throw new UnknownJobError(`noBid for job ${noBid.jobId}, which this node does not run`)
  if (noBid.round > job.round) throw new InvalidMarketMessageError(`noBid for round ${noBid.round} of job ${job.jobId}, which is only at round ${job.round}`)
  if (worker.region !== job.region) throw new RegionMismatchError(`noBid for job ${job.jobId} (region "${job.region}") from a worker certified for "${worker.region}"`)
}

/**
 * Validates a received market message, in order of cost: size, envelope
 * signature (domain MARKET_DOMAIN), decoding with limits, exactly one body
 * of an expected kind, issue time and expiry, replay (signer + nonce), the
 * sender's certificate (trusted authority, unexpired, issued to the
 * signer), then the body: an offer's requester / a bid's bidder must be the
 * signer; on a region topic an offer must name that region and a bidder's
 * certificate must be issued for it, with the bid's role equal to the
 * certificate's; a `NoBid` must be at most MAX_NO_BID_BYTES and pass
 * {@link checkNoBidFields}; on a direct stream the signer must be the
 * remote peer.
 * A message that passes is recorded in `ctx.replay`.
 *
 * Pure apart from `ctx.replay`/`ctx.certificates`; never touches the network.
 *
 * @throws MessageTooLargeError, InvalidEnvelopeError, InvalidSignatureError,
 * InvalidMarketMessageError, MessageExpiredError, ReplayedMessageError,
 * InvalidCertificateError, UnknownAuthorityError, CertificateExpiredError,
 * CertificatePeerMismatchError, SignerMismatchError, RegionMismatchError —
 * each a FleetmeshError whose `action` says reject or ignore.
 */
export async function validateMarketMessage (ctx: MarketValidationContext, bytes: Uint8Array): Promise<ValidatedMarketMessage> {
  const opened = await openEnvelope(bytes, MARKET_DOMAIN, { payloadType: MARKET_PAYLOAD_TYPE, maxBytes: ctx.maxBytes })
  // each bytes field decodes as a view into the payload, itself a view into the gossip frame or stream chunk it
  // arrived in: decoded from a copy, a message kept (a worker holds up to MAX_KNOWN_OFFERS offers) holds only itself
  const payload = opened.payload
  const own = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload : new Uint8Array(payload)
  let message: MarketMessage
  try {
    message = MarketMessage.decode(own, {
      limits: {
        offer: { shardUnits: MAX_SHARDS, openShards: MAX_SHARDS, inputs: MAX_OFFER_INPUTS, inputs$: { dims: MAX_OFFER_INPUT_RANK } },
        heartbeat: { leaseIds: MAX_HEARTBEAT_LEASES },
        bid: { addrs: MAX_BID_ADDRS }
      }
    } as any)
  } catch (err: any) {
    throw new InvalidMarketMessageError(`market message does not decode: ${err?.message ?? err}`)
  }
  const kind = bodyKind(message)
  if (!ctx.expect.includes(kind)) throw new InvalidMarketMessageError(`a ${kind} is not expected here (expected ${ctx.expect.join(' or ')})`)
  const kindMax = KIND_MAX_BYTES[kind]
  if (kindMax != null && bytes.byteLength > kindMax) throw new MessageTooLargeError(`a ${kind}`, bytes.byteLength, kindMax)

  const issuedAt = Number(message.issuedAt)
  const expiresAt = Number(message.expiresAt)
  // late, early and replayed messages may come from an honest forwarder: ignore, no penalty
  if (expiresAt < ctx.now) throw new MessageExpiredError(`${kind} expired ${ctx.now - expiresAt} ms ago`, { action: 'ignore' })
  if (issuedAt > ctx.now + MAX_CLOCK_SKEW_MS) throw new MessageExpiredError(`${kind} is issued ${issuedAt - ctx.now} ms in the future, more than the ${MAX_CLOCK_SKEW_MS} ms clock skew allowed`, { action: 'ignore' })
  if (expiresAt - issuedAt > MAX_MARKET_MESSAGE_TTL_MS || expiresAt < issuedAt) throw new InvalidMarketMessageError(`${kind} lifetime ${expiresAt - issuedAt} ms is outside 0..${MAX_MARKET_MESSAGE_TTL_MS} ms`)
  if (message.nonce.byteLength < 8 || message.nonce.byteLength > 64) throw new InvalidMarketMessageError(`nonce is ${message.nonce.byteLength} bytes, not 8..64`)

  const signer = opened.signer
  const signerStr = signer.toString()
  if (ctx.replay.has(signerStr, message.nonce, ctx.now)) throw new ReplayedMessageError(`${kind} from ${signerStr} was seen before (same nonce)`, { action: 'ignore' })
  if (ctx.from != null && !ctx.from.equals(signer)) throw new SignerMismatchError(`${kind} is signed by ${signerStr} but was sent by ${ctx.from}`)

  const certificate = await (ctx.certificates ?? new CertificateCache()).verify(message.certificate, signer, ctx.trustedAuthorities, ctx.now)

  if (message.offer != null) {
    const offer = message.offer
    if (!samePeer(offer.requester, signer)) throw new SignerMismatchError(`offer ${offer.jobId} names another requester than its signer ${signerStr}`)
    checkOfferFields(offer, ctx.now)
    if (ctx.region != null && offer.region !== ctx.region) throw new RegionMismatchError(`offer ${offer.jobId} is for region "${offer.region}" but was published on the offers topic of "${ctx.region}"`)
  } else if (message.bid != null) {
    const bid = message.bid
    if (!samePeer(bid.bidder, signer)) throw new SignerMismatchError(`bid for ${bid.jobId} names another bidder than its signer ${signerStr}`)
    checkBidFields(bid)
    const role = bid.role === BidderRole.VEHICLE ? 'vehicle' : 'station'
    if (role !== certificate.role) throw new InvalidMarketMessageError(`bid says role ${role} but the bidder's certificate says ${certificate.role}`)
    if (ctx.region != null && certificate.region !== ctx.region) throw new RegionMismatchError(`bidder ${signerStr} is certified for region "${certificate.region}" but bid on the bids topic of "${ctx.region}"`)
  } else if (message.award != null) {
    checkString('award jobId', message.award.jobId)
    checkString('award leaseId', message.award.leaseId)
  } else if (message.heartbeat != null) {
    for (const id of message.heartbeat.leaseIds) checkString('heartbeat leaseId', id)
  } else if (message.noBid != null) {
    checkNoBidFields(message.noBid)
  } else {
    const b = (message.accept ?? message.decline ?? message.release ?? message.cancel ?? message.complete) as { jobId: string, leaseId: string, reason?: string } | undefined
    if (b != null) {
      checkString(`${kind} jobId`, b.jobId)
      checkString(`${kind} leaseId`, b.leaseId, kind !== 'cancel')
      if (b.reason != null) checkString(`${kind} reason`, b.reason, false)
    }
  }
  ctx.replay.record(signerStr, message.nonce, expiresAt, ctx.now)
  return { message, kind, signer, certificate }
}

/** What a gossip validator answers: deliver, drop, or drop and penalise the sender. */
export type MarketValidationVerdict = 'accept' | 'ignore' | 'reject'

/**
 * Maps a validation error to a verdict: an error carrying `action:
 * 'ignore'` ignores, any other error rejects, no error accepts.
 */
export function verdictFor (err?: unknown): MarketValidationVerdict {
  if (err == null) return 'accept'
  return (err as { action?: string }).action === 'ignore' ? 'ignore' : 'reject'
}

/** Maps a verdict to gossipsub's TopicValidatorResult (Reject lowers the sender's score where the topic has score params). */
export function toTopicValidatorResult (verdict: MarketValidationVerdict): TopicValidatorResult {
  return verdict === 'accept' ? TopicValidatorResult.Accept : verdict === 'ignore' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
}

/**
 * The error codes a market validator or budget can raise: the fixed label
 * set of the validation metrics. Any other code is counted as ERR_UNKNOWN.
 */
export const MARKET_ERROR_CODES = [
  'ERR_NOT_ADMITTED', 'ERR_UNSIGNED_GOSSIP', 'ERR_RATE_LIMITED', 'ERR_MESSAGE_TOO_LARGE', 'ERR_INVALID_ENVELOPE', 'ERR_INVALID_SIGNATURE',
  'ERR_INVALID_MARKET_MESSAGE', 'ERR_MESSAGE_EXPIRED', 'ERR_REPLAYED_MESSAGE', 'ERR_INVALID_CERTIFICATE', 'ERR_UNKNOWN_AUTHORITY',
  'ERR_CERTIFICATE_EXPIRED', 'ERR_CERTIFICATE_PEER_MISMATCH', 'ERR_SIGNER_MISMATCH', 'ERR_REGION_MISMATCH', 'ERR_UNKNOWN_JOB', 'ERR_UNKNOWN'
] as const

/** One of {@link MARKET_ERROR_CODES}. */
export type MarketErrorCode = typeof MARKET_ERROR_CODES[number]

const ERROR_CODES: ReadonlySet<string> = new Set(MARKET_ERROR_CODES)

/** What {@link validationOutcome} decides for a message. */
export interface MarketValidationOutcome {
  verdict: MarketValidationVerdict
  /** gossipsub's answer */
  result: TopicValidatorResult
  /** the gossipsub score effect on the forwarding peer: `penalty` for Reject (where the topic has score params), `none` otherwise */
  score: 'none' | 'penalty'
  /** metric label: the error's code when it is one of MARKET_ERROR_CODES, ERR_UNKNOWN for any other error, `OK` for none */
  code: MarketErrorCode | 'OK'
}

/**
 * The one mapping from a validation error (or none) to everything done
 * with it: the verdict the throw site chose (`err.action`: `ignore`
 * ignores; any other error rejects — see {@link verdictFor}), gossipsub's
 * result, the peer-score effect and the bounded metric label. Used by the
 * gossip validators and, for the label, by the direct stream.
 */
export function validationOutcome (err?: unknown): MarketValidationOutcome {
  const verdict = verdictFor(err)
  const raw = err == null ? 'OK' : String((err as { code?: unknown }).code ?? 'ERR_UNKNOWN')
  const code = raw === 'OK' ? 'OK' : ERROR_CODES.has(raw) ? raw as MarketErrorCode : 'ERR_UNKNOWN'
  return { verdict, result: toTopicValidatorResult(verdict), score: verdict === 'reject' ? 'penalty' : 'none', code }
}
