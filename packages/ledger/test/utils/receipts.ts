import { createAuthority, issueCertificate } from '@fleetmesh/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CertificateVerifier } from '../../src/certificates.js'
import { inputDigest } from '../../src/digest.js'
import { encodeEntry } from '../../src/entry.js'
import { countersignReceipt, signWorkerReceipt } from '../../src/receipt.js'
import type { ReceiptFields } from '../../src/receipt.js'
import type { FleetAuthority, NodeRole, PbReceipt } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** A device: key, PeerId and certificate from the test authority. */
export interface Device {
  key: PrivateKey
  peerId: PeerId
  certificate: Uint8Array
}

export async function device (authority: FleetAuthority, role: NodeRole = 'station', owner?: string): Promise<Device> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const certificate = await issueCertificate(authority, { peerId, role, region: 'u33d', validForMs: 3600_000, owner })
  return { key, peerId, certificate }
}

export async function world (): Promise<{ authority: FleetAuthority, verifier: CertificateVerifier }> {
  const authority = await createAuthority()
  return { authority, verifier: new CertificateVerifier([authority.publicKey]) }
}

/** Fields of a receipt for shard `shard` of `jobId`; `output` picks the output digest. */
export function fields (requester: Device, worker: Device, jobId: string, shard: number, over: Partial<ReceiptFields> = {}): ReceiptFields {
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
export async function paidEntry (requester: Device, worker: Device, jobId: string, shard: number, over: Partial<ReceiptFields> = {}): Promise<{ receipt: PbReceipt, bytes: Uint8Array }> {
  const signed = await signWorkerReceipt(worker.key, worker.certificate, fields(requester, worker, jobId, shard, over))
  const receipt = await countersignReceipt(requester.key, requester.certificate, signed)
  return { receipt, bytes: encodeEntry({ receipt }) }
}
