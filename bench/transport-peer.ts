/**
 * The far end of bench/transport in its own process (forked with IPC,
 * config JSON in argv[2]): a mesh node with the bench stream sink and the
 * model, plus raw TCP sink and source servers on the same host. Reports
 * `{ type: 'ready', peerId, addr, sinkPort, sourcePort, cid }`; exits when
 * the parent disconnects.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMeshNode, importAuthority, issueCertificate } from '@fleetmesh/peer'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { handleSink, modelOf, rawSinkServer, rawSourceServer } from './transport-parts.js'

const config = JSON.parse(process.argv[2] as string) as { authority: string, swarmKey: string, host: string, streamBytes: number, modelMib: number }
const authority = importAuthority(config.authority)
const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-transport-peer-'))
const privateKey = await generateKeyPair('Ed25519')
const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role: 'station', region: 'u33d' })
const node = await createMeshNode({ role: 'station', region: 'u33d', privateKey, certificate, swarmKey: Buffer.from(config.swarmKey, 'base64'), trustedAuthorities: [authority.publicKey], listen: [`/ip4/${config.host}/tcp/0`], modelStore: { dir } })
await handleSink(node, config.streamBytes)
const model = modelOf(config.modelMib)
const { cid } = await node.addModel(model)
const sink = await rawSinkServer(config.host, config.streamBytes)
const source = await rawSourceServer(config.host, model)
process.send?.({ type: 'ready', peerId: node.peerId.toString(), addr: node.getMultiaddrs()[0]?.toString(), sinkPort: sink.port, sourcePort: source.port, cid })
process.on('disconnect', () => {
  sink.close()
  source.close()
  void node.stop().then(async () => rm(dir, { recursive: true, force: true })).finally(() => process.exit(0))
})
