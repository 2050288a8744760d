/**
 * @packageDocumentation
 *
 * The embeddable fleetmesh node. `createMeshNode(init)` composes libp2p 3
 * (TCP, noise, yamux, pnet, identify, ping, a private Kad-DHT, gossipsub,
 * bootstrap, mDNS, circuit relay v2, DCUtR, AutoNAT) with fleetmesh's
 * admission (device certificates from a fleet authority) and capability
 * discovery (`findPeers`, nearest first).
 *
 * @example
 *
 * ```TypeScript
 * import { createMeshNode, createAuthority, issueCertificate, generateSwarmKey } from '@fleetmesh/peer'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 * import { peerIdFromPrivateKey } from '@libp2p/peer-id'
 *
 * const authority = await createAuthority()
 * const swarmKey = generateSwarmKey()
 * const start = async (role: 'station' | 'vehicle', region: string, bootstrap?: string[]) => {
 *   const privateKey = await generateKeyPair('Ed25519')
 *   const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role, region })
 *   return createMeshNode({ role, region, privateKey, certificate, swarmKey, bootstrap,
 *     trustedAuthorities: [authority.publicKey], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * }
 * const station = await start('station', 'u33d')
 * const vehicle = await start('vehicle', 'u33d', station.getMultiaddrs().map(String))
 * await vehicle.announced()
 * console.log(await vehicle.findPeers({ role: 'station', region: 'u33d' }))
 * await vehicle.stop()
 * await station.stop()
 * ```
 */

export { createMeshNode } from './mesh-node.js'
export type { MeshNode, MeshNodeInit, MeshNodeEvents, MeshServices, GossipHandler, GossipValidator } from './mesh-node-types.js'
export type { Admission, AdmissionEvents, AdmissionInit, AdmissionRefusal } from './admission.js'
export type { Revocations, RevocationInit } from './revocation.js'
export type { StreamBudget } from './stream-budget.js'
export { capabilityCid, capabilityKey, compareNearest, startupCapabilities } from './capabilities.js'
export type { Capabilities, CapabilityKind, FindPeersQuery, MeshPeer } from './capabilities.js'
export type { ModelTransfer, ModelTransferEvents, ModelProgress, FetchModelOptions } from './model-transfer.js'
export { inference, checkInputs, JobInputError, InferenceError, JobCancelledError, RemoteError, SessionError, MAX_IN_FLIGHT, LocalStatefulSession, generateTokens, createSampler } from '@fleetmesh/inference'
export type { Inference, SubmitInit, JobHandle, JobProgress, InferenceInit, InferCounters, InferenceSession, SessionInit, SessionProgress, SessionSummary, StatePair, GenerateInit, SamplerSpec, Sampler } from '@fleetmesh/inference'
export { generateSwarmKey, parseSwarmKey } from './swarm-key.js'
export { createPnetKeystream, pnetCipherBackend, PNET_FALLBACK_WARNING_CODE } from './pnet-cipher.js'
export type { PnetKeystream, PnetCipherBackend } from './pnet-cipher.js'
export { loadOrCreateIdentity, openDatastore } from './data-dir.js'
export * from './errors.js'
export * from './constants.js'
export {
  createAuthority, authorityFromPrivateKey, exportAuthority, importAuthority, exportAuthorityPublicKey,
  importAuthorityPublicKey, issueCertificate, verifyCertificate, decodeCertificate, createRevocationList, verifyRevocationList
} from '@fleetmesh/protocol'
export type { FleetAuthority, VerifiedCertificate, NodeRole, IssueCertificateInit, RevocationEntry, VerifiedRevocationList } from '@fleetmesh/protocol'
