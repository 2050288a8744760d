/**
 * A worker node in its own process for bench/jobs (forked with IPC, config
 * JSON in argv[2]). Reports `{ type: 'ready', peerId }`; exits when the
 * parent disconnects.
 */
import { readFile } from 'node:fs/promises'
import { createMeshNode, importAuthorityPublicKey } from '@fleetmesh/peer'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'

const config = JSON.parse(await readFile(process.argv[2] as string, 'utf8'))
const node = await createMeshNode({
  role: 'station',
  region: 'u33d',
  privateKey: privateKeyFromProtobuf(Buffer.from(config.privateKey, 'base64')),
  certificate: Buffer.from(config.certificate, 'base64'),
  swarmKey: config.swarmKey,
  trustedAuthorities: [importAuthorityPublicKey(config.authority)],
  listen: [config.listen],
  bootstrap: config.bootstrap,
  modelStore: { dir: config.storeDir },
  worker: true,
  inference: { intraOpNumThreads: config.threads },
  gossip: { scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']) } }
})
await node.announced()
process.send?.({ type: 'ready', peerId: node.peerId.toString() })
process.on('disconnect', () => { void node.stop().finally(() => process.exit(0)) })
