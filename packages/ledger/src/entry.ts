import { InvalidReceiptError, MAX_LEDGER_ENTRY_BYTES, MessageTooLargeError, PbLedgerEntry } from '@fleetmesh/protocol'
import { evidenceId, verifyEvidence } from './evidence.js'
import { grantId, verifyGrant } from './grant.js'
import { receiptId, verifyReceipt } from './receipt.js'
import type { VerifiedEvidence } from './evidence.js'
import type { VerifiedGrant } from './grant.js'
import type { VerifiedReceipt, VerifyReceiptOptions } from './receipt.js'
import type { PbEvidence, PbGrant, PbReceipt } from '@fleetmesh/protocol'

/**
 * A ledger entry is what a node stores, gossips and reconciles: a
 * countersigned receipt, an evidence record or a credit grant. Its id is
 * the sha2-256 of the receipt, evidence or grant body.
 */
export type VerifiedEntry =
  | { kind: 'receipt', id: string, bytes: Uint8Array, receipt: VerifiedReceipt }
  | { kind: 'evidence', id: string, bytes: Uint8Array, evidence: VerifiedEvidence }
  | { kind: 'grant', id: string, bytes: Uint8Array, grant: VerifiedGrant }

/**
 * `bytes` in a buffer of their own: a copy when they are a view into a
 * larger buffer (a gossip message, a reconciliation batch, a pooled
 * allocation), else `bytes` itself. The ledger keeps every entry it stores,
 * and each field decoded from an entry is a view into the bytes it was
 * decoded from: kept as they arrived, each entry held its whole buffer.
 */
export function ownBytes (bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
}

/** Encodes a receipt, evidence or a grant as a ledger entry. */
export function encodeEntry (entry: { receipt: PbReceipt } | { evidence: PbEvidence } | { grant: PbGrant }): Uint8Array {
  return PbLedgerEntry.encode(entry)
}

/** Decodes a ledger entry. @throws MessageTooLargeError, InvalidReceiptError */
export function decodeEntry (bytes: Uint8Array): PbLedgerEntry {
  if (bytes.byteLength > MAX_LEDGER_ENTRY_BYTES) throw new MessageTooLargeError('ledger entry', bytes.byteLength, MAX_LEDGER_ENTRY_BYTES)
  let entry: PbLedgerEntry
  try {
    entry = PbLedgerEntry.decode(bytes)
  } catch (err: any) {
    throw new InvalidReceiptError(`bytes are not a ledger entry: ${err?.message ?? err}`)
  }
  if ([entry.receipt, entry.evidence, entry.grant].filter(x => x != null).length !== 1) throw new InvalidReceiptError('a ledger entry holds exactly one of a receipt, evidence or a grant')
  return entry
}

/** The id of an encoded entry without verifying it (32 bytes). */
export function entryId (entry: PbLedgerEntry): Uint8Array {
  if (entry.receipt != null) return receiptId(entry.receipt)
  if (entry.evidence != null) return evidenceId(entry.evidence)
  if (entry.grant != null) return grantId(entry.grant)
  throw new InvalidReceiptError('empty ledger entry')
}

/**
 * Verifies an encoded entry: a receipt must be countersigned; evidence
 * must prove what it claims; a grant must be signed by a trusted authority.
 *
 * @throws the errors of verifyReceipt / verifyEvidence / verifyGrant, MessageTooLargeError
 */
export async function verifyEntry (bytes: Uint8Array, options: VerifyReceiptOptions): Promise<VerifiedEntry> {
  const entry = decodeEntry(bytes)
  if (entry.receipt != null) {
    const receipt = await verifyReceipt(entry.receipt, { ...options, requireCountersigned: true })
    return { kind: 'receipt', id: receipt.id, bytes, receipt }
  }
  if (entry.grant != null) {
    const grant = await verifyGrant(entry.grant, options)
    return { kind: 'grant', id: grant.id, bytes, grant }
  }
  const evidence = await verifyEvidence(entry.evidence as PbEvidence, options)
  return { kind: 'evidence', id: evidence.id, bytes, evidence }
}
