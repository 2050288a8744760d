/**
 * @packageDocumentation
 *
 * Wire-level vocabulary of fleetmesh: protobuf messages (protons codecs
 * committed beside their `.proto`), protocol ids, gossipsub topic names,
 * decode limits, libp2p signed envelopes with domain separation, device
 * certificates, the typed errors every package throws, and the on-demand
 * timer the packages' periodic rounds share (`DemandTimer`).
 *
 * @example
 *
 * ```TypeScript
 * import { createAuthority, issueCertificate, verifyCertificate } from '@fleetmesh/protocol'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 * import { peerIdFromPrivateKey } from '@libp2p/peer-id'
 *
 * const authority = await createAuthority()
 * const device = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
 * const cert = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', validForMs: 86_400_000 })
 * const verified = await verifyCertificate(cert, { trustedAuthorities: [authority.publicKey], peerId: device })
 * console.log(verified.role, verified.region) // vehicle u33d
 * ```
 */

export * from './errors.js'
export * from './limits.js'
export * from './protocol-ids.js'
export * from './topics.js'
export * from './region.js'
export * from './envelope.js'
export * from './certificate.js'
export * from './revocation.js'
export * from './tensor.js'
export * from './demand-timer.js'
export { AdmissionHello, AdmissionResult } from './pb/admission.js'
export { CertificateBody, Role as PbRole } from './pb/certificate.js'
export { RevocationListBody as PbRevocationListBody, RevocationEntry as PbRevocationEntry } from './pb/revocation.js'
export { Tensor as PbTensor, TensorList as PbTensorList } from './pb/tensor.js'
export { ModelRequest, ModelHeader } from './pb/model.js'
export { InferMessage, InferOpen, InferData, InferResult, InferError, InferReady, InferSnapshot, InferSessionStage, StatePair as PbStatePair } from './pb/infer.js'
export { MarketMessage, JobOffer, OfferInput, Bid, Award, Accept, Decline, Heartbeat, Release, Cancel, Complete, Ack, NoBid, JobMode, BidderRole } from './pb/market.js'
export { ReceiptBody as PbReceiptBody, Receipt as PbReceipt, EvidenceBody as PbEvidenceBody, Evidence as PbEvidence, EvidenceKind, LedgerEntry as PbLedgerEntry, ShardReturn as PbShardReturn, RangeMode, ReconcileRange, ReconcileMessage, GrantBody as PbGrantBody, Grant as PbGrant, PendingSettlement as PbPendingSettlement, SettleRequest as PbSettleRequest, SettleResponse as PbSettleResponse, SettleStatus } from './pb/receipt.js'
