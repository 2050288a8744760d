import { createAuthority } from '@fleetmesh/protocol'
import { CertificateVerifier } from '../../src/certificates.js'
import { inputDigest } from '../../src/digest.js'
import { encodeEntry } from '../../src/entry.js'
import { countersignReceipt, signWorkerReceipt } from '../../src/receipt.js'
import type { ReceiptFields, VerifiedReceipt } from '../../src/receipt.js'
import type { FleetAuthority, PbReceipt } from '@fleetmesh/protocol'
import type { TestIdentity } from '@fleetmesh/test-utils'

/** A fleet authority and a certificate verifier that trusts it. */
export async function world (): Promise<{ authority: FleetAuthority, verifier: CertificateVerifier }> {
  const authority = await createAuthority()
  return { authority, verifier: new CertificateVerifier([authority.publicKey]) }
}

/** Fields of a receipt for shard `shard` of `jobId`; `output` picks the output digest. */
export function fields (requester: TestIdentity, worker: TestIdentity, jobId: string, shard: number, over: Partial<ReceiptFields> = {}): ReceiptFields {
  const now = Date.now()
  return {
    jobId,
    shardIndex: shard,
    requester: requester.peerId,
    worker: worker.peerId,
    modelCid: 'bafy-model',
    inputDigest: inputDigest(new TextEncoder().encode(`${jobId}/${shard}`)),
    outputDigest: inputDigest(new TextEncoder().encode(`out ${jobId}/${shard}`)),
    computeMs: 40,
    units: 100,
    pricePerUnit: 0.5,
    startedAt: now - 50,
    finishedAt: now - 10,
    leaseId: `${jobId}-${shard}`,
    ...over
  }
}

/** A countersigned receipt, encoded as a ledger entry. */
export async function paidEntry (requester: TestIdentity, worker: TestIdentity, jobId: string, shard: number, over: Partial<ReceiptFields> = {}): Promise<{ receipt: PbReceipt, bytes: Uint8Array }> {
  const signed = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, jobId, shard, over))
  const receipt = await countersignReceipt(requester.privateKey, requester.certificate, signed)
  return { receipt, bytes: encodeEntry({ receipt }) }
}

/** A plain verified receipt (the pure functions read only these fields). */
export function plainReceipt (over: Partial<VerifiedReceipt>): VerifiedReceipt {
  return {
    id: 'r',
    jobId: 'job',
    shardIndex: 0,
    replica: 0,
    requester: 'Q',
    worker: 'W',
    modelCid: 'm',
    inputDigest: 'in',
    outputDigest: 'out',
    computeMs: 1,
    units: 1,
    pricePerUnit: 1,
    startedAt: 0,
    finishedAt: 0,
    leaseId: '',
    countersigned: true,
    workerOwner: '',
    workerJurisdiction: '',
    requesterOwner: '',
    receipt: undefined as any,
    ...over
  }
}
