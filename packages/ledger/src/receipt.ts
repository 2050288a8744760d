import { EntryFromFutureError, InvalidReceiptError, MAX_CLOCK_SKEW_MS, MAX_MARKET_STRING_LENGTH, MAX_RECEIPT_BYTES, MessageTooLargeError, NotCountersignedError, PbReceipt, PbReceiptBody } from '@fleetmesh/protocol'
import { RECEIPT_PAYLOAD_TYPE, RECEIPT_REQUESTER_DOMAIN, RECEIPT_WORKER_DOMAIN } from './constants.js'
import { buf, peerIdFromBytes, sha256, signFor, toHex, verifyFor } from './signing.js'
import type { CertificateVerifier } from './certificates.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/**
 * Work receipts: a worker signs the body when it returns a shard's result;
 * the requester countersigns the same body once it accepts the output.
 * The receipt id is the sha2-256 of the encoded body, so the worker-signed
 * and the countersigned receipt share one id, and only the countersigned
 * one ever enters a ledger.
 */

/** What a receipt says, as plain data (input of {@link signWorkerReceipt}). */
export interface ReceiptFields {
  jobId: string
  /** shard index (data-parallel) or stage index (pipeline) */
  shardIndex: number
  /** replica of the shard (redundancy) @default 0 */
  replica?: number
  /** requester PeerId */
  requester: PeerId
  /** worker PeerId */
  worker: PeerId
  modelCid: string
  /** sha2-256 of the shard's input, 32 bytes */
  inputDigest: Uint8Array
  /** digest of the quantised output ({@link outputDigest}), 32 bytes */
  outputDigest: Uint8Array
  /** ms the worker computed */
  computeMs: number
  /** compute units of the shard (positive integer) */
  units: number
  /** credits per compute unit */
  pricePerUnit: number
  /** ms since the epoch */
  startedAt: number
  /** ms since the epoch */
  finishedAt: number
  /** the market lease @default '' */
  leaseId?: string
}

/** A receipt whose signatures, certificates and fields verified. Plain data besides `receipt`. */
export interface VerifiedReceipt {
  /** hex sha2-256 of the body */
  id: string
  jobId: string
  shardIndex: number
  replica: number
  /** PeerId strings */
  requester: string
  worker: string
  modelCid: string
  /** hex */
  inputDigest: string
  /** hex */
  outputDigest: string
  computeMs: number
  units: number
  pricePerUnit: number
  startedAt: number
  finishedAt: number
  leaseId: string
  /** true when the requester's countersignature verified */
  countersigned: boolean
  /** owner account in the worker's certificate ('' if none) */
  workerOwner: string
  /** jurisdiction in the worker's certificate ('' if none): where the work was done, for data residency */
  workerJurisdiction: string
  /** owner account in the requester's certificate ('' if none or not countersigned) */
  requesterOwner: string
  /** the decoded receipt */
  receipt: PbReceipt
}

/** How receipts are verified. */
export interface VerifyReceiptOptions {
  certificates: CertificateVerifier
  /** refuse receipts without a valid countersignature @default false */
  requireCountersigned?: boolean
  /** ms since the epoch @default Date.now() */
  now?: number
  /**
   * accept a receipt whose worker is its requester (the requester's own
   * run of the work, price 0) — only as a witness in mismatch evidence
   * @default false
   */
  ownRun?: boolean
}

const DIGEST_BYTES = 32

function check (cond: boolean, msg: string): void {
  if (!cond) throw new InvalidReceiptError(`receipt ${msg}`)
}

/** The receipt id: sha2-256 of the encoded body. */
export function receiptId (receipt: PbReceipt): Uint8Array {
  return sha256(receipt.body)
}

/** Encodes a receipt. */
export function encodeReceipt (receipt: PbReceipt): Uint8Array {
  return PbReceipt.encode(receipt)
}

/** Decodes a receipt. @throws MessageTooLargeError, InvalidReceiptError */
export function decodeReceipt (bytes: Uint8Array): PbReceipt {
  if (bytes.byteLength > MAX_RECEIPT_BYTES) throw new MessageTooLargeError('receipt', bytes.byteLength, MAX_RECEIPT_BYTES)
  try {
    return PbReceipt.decode(bytes)
  } catch (err: any) {
    throw new InvalidReceiptError(`bytes are not a receipt: ${err?.message ?? err}`)
  }
}

/**
 * Encodes the body of a receipt from its fields.
 *
 * @throws InvalidReceiptError on a field out of range
 */
export function encodeReceiptBody (f: ReceiptFields): Uint8Array {
  const body: PbReceiptBody = {
    jobId: f.jobId,
    shardIndex: f.shardIndex,
    replica: f.replica ?? 0,
    requester: f.requester.toMultihash().bytes,
    worker: f.worker.toMultihash().bytes,
    modelCid: f.modelCid,
    inputDigest: buf(f.inputDigest),
    outputDigest: buf(f.outputDigest),
    computeMs: BigInt(Math.max(0, Math.round(f.computeMs))),
    units: BigInt(f.units),
    pricePerUnit: f.pricePerUnit,
    startedAt: BigInt(f.startedAt),
    finishedAt: BigInt(f.finishedAt),
    leaseId: f.leaseId ?? ''
  }
  checkBody(body)
  return PbReceiptBody.encode(body)
}

function checkBody (b: PbReceiptBody): void {
  check(b.jobId.length > 0 && b.jobId.length <= MAX_MARKET_STRING_LENGTH, `job id must be 1..${MAX_MARKET_STRING_LENGTH} characters`)
  check(b.modelCid.length <= MAX_MARKET_STRING_LENGTH, `model CID is over ${MAX_MARKET_STRING_LENGTH} characters`)
  check(b.leaseId.length <= MAX_MARKET_STRING_LENGTH, `lease id is over ${MAX_MARKET_STRING_LENGTH} characters`)
  check(b.inputDigest.byteLength === DIGEST_BYTES, `input digest is ${b.inputDigest.byteLength} bytes, not ${DIGEST_BYTES}`)
  check(b.outputDigest.byteLength === DIGEST_BYTES, `output digest is ${b.outputDigest.byteLength} bytes, not ${DIGEST_BYTES}`)
  check(b.units > 0n && b.units <= BigInt(Number.MAX_SAFE_INTEGER), `units ${b.units} is not a positive safe integer`)
  check(Number.isFinite(b.pricePerUnit) && b.pricePerUnit >= 0, `price per unit ${b.pricePerUnit} is not a finite non-negative number`)
  check(b.computeMs <= BigInt(Number.MAX_SAFE_INTEGER), 'compute time is out of range')
  check(b.startedAt <= b.finishedAt && b.finishedAt <= BigInt(Number.MAX_SAFE_INTEGER), `start ${b.startedAt} is after finish ${b.finishedAt}`)
}

/**
 * Makes a worker-signed receipt (not yet countersigned).
 *
 * @param key - the worker's node key (its PeerId must be `fields.worker`)
 * @param certificate - the worker's device certificate
 * @throws InvalidReceiptError on a bad field or a key that is not the worker's
 */
export async function signWorkerReceipt (key: PrivateKey, certificate: Uint8Array, fields: ReceiptFields): Promise<PbReceipt> {
  check(fields.worker.publicKey?.equals(key.publicKey) === true, `worker ${fields.worker} is not the signing key's peer`)
  const body = encodeReceiptBody(fields)
  return {
    body: buf(body),
    workerSignature: buf(await signFor(key, RECEIPT_WORKER_DOMAIN, RECEIPT_PAYLOAD_TYPE, body)),
    requesterSignature: new Uint8Array(0),
    workerCertificate: buf(certificate),
    requesterCertificate: new Uint8Array(0)
  }
}

/**
 * Countersigns a worker-signed receipt: the requester accepts the output.
 * Verify the worker's signature first ({@link verifyReceipt}).
 *
 * @param key - the requester's node key (its PeerId must be the body's requester)
 * @throws InvalidReceiptError if the body names another requester
 */
export async function countersignReceipt (key: PrivateKey, certificate: Uint8Array, receipt: PbReceipt): Promise<PbReceipt> {
  const body = decodeBody(receipt.body)
  const requester = peerIdFromBytes(body.requester)
  check(requester.publicKey?.equals(key.publicKey) === true, `names requester ${requester}, not the countersigning key's peer`)
  return {
    ...receipt,
    requesterSignature: buf(await signFor(key, RECEIPT_REQUESTER_DOMAIN, RECEIPT_PAYLOAD_TYPE, receipt.body)),
    requesterCertificate: buf(certificate)
  }
}

function decodeBody (bytes: Uint8Array): PbReceiptBody {
  try {
    return PbReceiptBody.decode(bytes)
  } catch (err: any) {
    throw new InvalidReceiptError(`receipt body does not decode: ${err?.message ?? err}`)
  }
}

/**
 * Verifies a receipt: body fields in range, the worker's signature and
 * certificate (valid at the finish time), and — when present or required —
 * the requester's countersignature and certificate.
 *
 * @throws InvalidReceiptError on a malformed or inconsistent receipt
 * @throws InvalidSignatureError if a signature does not verify
 * @throws NotCountersignedError if `requireCountersigned` and there is no countersignature
 * @throws EntryFromFutureError if it finished more than MAX_CLOCK_SKEW_MS in the future
 * @throws certificate errors (InvalidCertificateError, UnknownAuthorityError, CertificateExpiredError, CertificatePeerMismatchError)
 */
export async function verifyReceipt (input: PbReceipt | Uint8Array, options: VerifyReceiptOptions): Promise<VerifiedReceipt> {
  const receipt = input instanceof Uint8Array ? decodeReceipt(input) : input
  const body = decodeBody(receipt.body)
  checkBody(body)
  let worker: PeerId
  let requester: PeerId
  try {
    worker = peerIdFromBytes(body.worker)
    requester = peerIdFromBytes(body.requester)
  } catch (err: any) {
    throw new InvalidReceiptError(`receipt names an invalid PeerId: ${err?.message ?? err}`)
  }
  check(!worker.equals(requester) || (options.ownRun === true && body.pricePerUnit === 0), 'names the same peer as worker and requester')
  const finishedAt = Number(body.finishedAt)
  const now = options.now ?? Date.now()
  if (finishedAt > now + MAX_CLOCK_SKEW_MS) throw new EntryFromFutureError(`receipt finished at ${new Date(finishedAt).toISOString()}, in the future`)
  await verifyFor(worker, RECEIPT_WORKER_DOMAIN, RECEIPT_PAYLOAD_TYPE, receipt.body, receipt.workerSignature)
  const workerCert = await options.certificates.verify(receipt.workerCertificate, worker, finishedAt)
  const countersigned = receipt.requesterSignature.byteLength > 0
  let requesterOwner = ''
  if (countersigned) {
    await verifyFor(requester, RECEIPT_REQUESTER_DOMAIN, RECEIPT_PAYLOAD_TYPE, receipt.body, receipt.requesterSignature)
    requesterOwner = (await options.certificates.verify(receipt.requesterCertificate, requester, finishedAt)).owner
  } else if (options.requireCountersigned === true) {
    throw new NotCountersignedError(`receipt for job ${body.jobId} shard ${body.shardIndex} is signed by its worker only; only countersigned receipts move credits`)
  }
  return {
    id: toHex(receiptId(receipt)),
    jobId: body.jobId,
    shardIndex: body.shardIndex,
    replica: body.replica,
    requester: requester.toString(),
    worker: worker.toString(),
    modelCid: body.modelCid,
    inputDigest: toHex(body.inputDigest),
    outputDigest: toHex(body.outputDigest),
    computeMs: Number(body.computeMs),
    units: Number(body.units),
    pricePerUnit: body.pricePerUnit,
    startedAt: Number(body.startedAt),
    finishedAt,
    leaseId: body.leaseId,
    countersigned,
    workerOwner: workerCert.owner,
    workerJurisdiction: workerCert.jurisdiction ?? '',
    requesterOwner,
    receipt
  }
}

/** Key of the work a receipt pays for: one worker is paid once per (requester, job, shard, replica). */
export function slotKey (r: Pick<VerifiedReceipt, 'requester' | 'jobId' | 'shardIndex' | 'replica'>): string {
  return `${r.requester}/${r.jobId}/${r.shardIndex}/${r.replica}`
}
