import { EntryFromFutureError, EvidenceKind, InvalidEvidenceError, MAX_CLOCK_SKEW_MS, PbEvidence, PbEvidenceBody } from '@fleetmesh/protocol'
import { EVIDENCE_DOMAIN, EVIDENCE_PAYLOAD_TYPE } from './constants.js'
import { slotKey, verifyReceipt } from './receipt.js'
import { buf, peerIdFromBytes, sha256, signFor, toHex, verifyFor } from './signing.js'
import type { VerifiedReceipt, VerifyReceiptOptions } from './receipt.js'
import type { PbReceipt } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/**
 * Evidence against a worker, signed by the node that reports it:
 *
 * - `mismatch`: the worker's receipt (accused) and two receipts of two
 *   other workers for the same model and input digest, whose output
 *   digests agree with each other and differ from the accused one. Only
 *   the requester of all three can report it (it ran them). One witness
 *   may be the requester's own run (worker = requester, price 0: a job
 *   with two leases decides a dispute itself); the other must be another
 *   worker.
 * - `equivocation`: two different receipt bodies signed by one worker for
 *   the same (requester, job, shard, replica). Anyone may report it.
 *
 * The evidence id is the sha2-256 of the encoded evidence body.
 */

export type EvidenceKindName = 'mismatch' | 'equivocation'

/** Evidence that verified. */
export interface VerifiedEvidence {
  /** hex sha2-256 of the evidence body */
  id: string
  kind: EvidenceKindName
  /** PeerId string of the accused worker */
  accused: string
  /** id of the accused worker's receipt (the first one, for equivocation) */
  accusedReceipt: string
  /** PeerId string of the reporter */
  reporter: string
  /** ms since the epoch */
  issuedAt: number
  receipts: VerifiedReceipt[]
  evidence: PbEvidence
}

function fail (msg: string): never {
  throw new InvalidEvidenceError(`evidence ${msg}`)
}

async function sealEvidence (key: PrivateKey, body: PbEvidenceBody): Promise<PbEvidence> {
  const bytes = PbEvidenceBody.encode(body)
  return { body: bytes, signature: buf(await signFor(key, EVIDENCE_DOMAIN, EVIDENCE_PAYLOAD_TYPE, bytes)) }
}

/**
 * Evidence that `accused` (a worker-signed receipt) disagrees with two
 * other workers' receipts that agree with each other.
 *
 * @param key - the reporter's node key: the requester named by all three receipts
 * @param certificate - the reporter's device certificate
 */
export async function createMismatchEvidence (key: PrivateKey, reporter: PeerId, certificate: Uint8Array, accused: PbReceipt, witnesses: [PbReceipt, PbReceipt], issuedAt = Date.now()): Promise<PbEvidence> {
  return sealEvidence(key, { kind: EvidenceKind.MISMATCH, receipts: [accused, ...witnesses], reporter: buf(reporter.toMultihash().bytes), reporterCertificate: buf(certificate), issuedAt: BigInt(issuedAt) })
}

/** Evidence that one worker signed two different receipts `a` and `b` for the same slot. */
export async function createEquivocationEvidence (key: PrivateKey, reporter: PeerId, certificate: Uint8Array, a: PbReceipt, b: PbReceipt, issuedAt = Date.now()): Promise<PbEvidence> {
  return sealEvidence(key, { kind: EvidenceKind.EQUIVOCATION, receipts: [a, b], reporter: buf(reporter.toMultihash().bytes), reporterCertificate: buf(certificate), issuedAt: BigInt(issuedAt) })
}

/** The evidence id: sha2-256 of the encoded body. */
export function evidenceId (evidence: PbEvidence): Uint8Array {
  return sha256(evidence.body)
}

/** True if two receipts' bodies say the work conflicts: same worker and slot, different bodies. */
export function isEquivocation (a: VerifiedReceipt, b: VerifiedReceipt): boolean {
  return a.worker === b.worker && slotKey(a) === slotKey(b) && a.id !== b.id
}

/**
 * Verifies evidence: the reporter's signature and certificate, every
 * receipt inside (worker signatures, certificates), and that the receipts
 * prove what the kind claims.
 *
 * @throws InvalidEvidenceError if it proves nothing or is malformed
 * @throws InvalidSignatureError, certificate errors, InvalidReceiptError from the receipts inside
 */
export async function verifyEvidence (evidence: PbEvidence, options: VerifyReceiptOptions): Promise<VerifiedEvidence> {
  let body: PbEvidenceBody
  try {
    body = PbEvidenceBody.decode(evidence.body, { limits: { receipts: 3 } })
  } catch (err: any) {
    fail(`does not decode: ${err?.message ?? err}`)
  }
  let reporter: PeerId
  try { reporter = peerIdFromBytes(body.reporter) } catch { fail('names an invalid reporter PeerId') }
  const issuedAt = Number(body.issuedAt)
  if (issuedAt > (options.now ?? Date.now()) + MAX_CLOCK_SKEW_MS) throw new EntryFromFutureError(`evidence issued at ${new Date(issuedAt).toISOString()}, in the future`)
  await verifyFor(reporter, EVIDENCE_DOMAIN, EVIDENCE_PAYLOAD_TYPE, evidence.body, evidence.signature)
  await options.certificates.verify(body.reporterCertificate, reporter, issuedAt)
  const receipts: VerifiedReceipt[] = []
  for (const [i, r] of body.receipts.entries()) receipts.push(await verifyReceipt(r, { ...options, requireCountersigned: false, ownRun: body.kind === EvidenceKind.MISMATCH && i > 0 }))
  const id = toHex(evidenceId(evidence))
  const who = reporter.toString()
  if (body.kind === EvidenceKind.MISMATCH) {
    if (receipts.length !== 3) fail(`of a mismatch holds ${receipts.length} receipts, not 3`)
    const [accused, w1, w2] = receipts as [VerifiedReceipt, VerifiedReceipt, VerifiedReceipt]
    if (new Set([accused.worker, w1.worker, w2.worker]).size !== 3) fail('of a mismatch needs three distinct workers')
    if (accused.worker === who) fail('of a mismatch cannot accuse its own reporter')
    for (const r of receipts) {
      if (r.requester !== who) fail(`of a mismatch must be reported by the requester of every receipt (${r.requester}), not ${who}`)
      if (r.modelCid !== accused.modelCid || r.inputDigest !== accused.inputDigest) fail('of a mismatch compares receipts of different models or inputs')
    }
    if (w1.outputDigest !== w2.outputDigest) fail('of a mismatch: the two witnesses disagree with each other')
    if (accused.outputDigest === w1.outputDigest) fail('of a mismatch: the accused output agrees with the witnesses')
    return { id, kind: 'mismatch', accused: accused.worker, accusedReceipt: accused.id, reporter: who, issuedAt, receipts, evidence }
  }
  if (body.kind === EvidenceKind.EQUIVOCATION) {
    if (receipts.length !== 2) fail(`of an equivocation holds ${receipts.length} receipts, not 2`)
    const [a, b] = receipts as [VerifiedReceipt, VerifiedReceipt]
    if (!isEquivocation(a, b)) fail('of an equivocation: the receipts are not two different bodies of one worker for one shard')
    const first = a.id < b.id ? a : b
    return { id, kind: 'equivocation', accused: a.worker, accusedReceipt: first.id, reporter: who, issuedAt, receipts, evidence }
  }
  fail(`has unknown kind ${String(body.kind)}`)
}
