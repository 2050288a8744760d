/**
 * The insider of bench/adversary: an admitted fleet member (a real
 * certificate, a real mesh node, no worker) in its own process, so its
 * floods cost the honest requester's process nothing. Forked with IPC,
 * config JSON in argv[2] (an {@link AttackerConfig}). Reports
 * `{ type: 'ready', peerId }` once the target admitted it; on
 * `{ type: 'flood', kind, ms }` runs that flood for `ms` and answers
 * `{ type: 'flooded', kind, counts }` (counts with `rejoinMs`, the time it took
 * to be admitted again before the flood, `disconnects` from the target during it
 * and `admittedAtEnd`); exits when the parent disconnects.
 */
import { readFile } from 'node:fs/promises'
import { createMeshNode } from '@fleetmesh/peer'
import { deserializeIdentity, exitWithParent, loopbackGossip, sendToParent, waitUntil } from '@fleetmesh/test-utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { FLOODS } from './adversary-floods.js'
import type { FloodKind } from './adversary-floods.js'
import type { SerializedIdentity } from '@fleetmesh/test-utils'

/** The attacker's config file. */
export interface AttackerConfig extends SerializedIdentity {
  listen: string
  bootstrap: string[]
  /** the target's PeerId and multiaddrs */
  target: string
  targetAddrs: string[]
  /** concurrent streams per stream flood */
  streams: number
}

const config: AttackerConfig = JSON.parse(await readFile(process.argv[2] as string, 'utf8'))
const identity = deserializeIdentity(config)
const node = await createMeshNode({
  role: 'station',
  region: 'u33d',
  ...identity,
  listen: [config.listen],
  bootstrap: config.bootstrap,
  gossip: loopbackGossip()
})
const target = peerIdFromString(config.target)
/** Dials the target until it admitted this node (bounded); returns how long that took, ms (0: it was). */
async function rejoin (): Promise<number> {
  const start = Date.now()
  await waitUntil(async () => {
    if (node.isAdmitted(target)) return true
    await node.libp2p.dial(config.targetAddrs.map(a => multiaddr(a)), { signal: AbortSignal.timeout(3000) }).catch(() => {})
    return node.isAdmitted(target)
  }, { timeoutMs: 30_000, intervalMs: 500, message: 'the target to admit the attacker' })
  return Date.now() - start
}
await rejoin()
await new Promise(resolve => setTimeout(resolve, 1500)) // gossip mesh
process.on('message', (msg: any) => {
  if (msg?.type !== 'flood') return
  const kind = msg.kind as FloodKind
  void (async () => {
    // each flood starts connected and admitted, whatever the last one cost the attacker
    const rejoinMs = await rejoin()
    let disconnects = 0
    const onDisconnect = (evt: CustomEvent<any>): void => { if (evt.detail.equals(target)) disconnects++ }
    node.libp2p.addEventListener('peer:disconnect', onDisconnect)
    try {
      const counts = await FLOODS[kind]({ node, privateKey: identity.privateKey, certificate: identity.certificate, target, streams: config.streams }, Date.now() + Number(msg.ms))
      sendToParent({ type: 'flooded', kind, counts: { ...counts, rejoinMs, disconnects, admittedAtEnd: node.isAdmitted(target) } })
    } finally {
      node.libp2p.removeEventListener('peer:disconnect', onDisconnect)
    }
  })().catch((err: any) => { sendToParent({ type: 'flooded', kind, error: String(err?.stack ?? err) }) })
})
sendToParent({ type: 'ready', peerId: node.peerId.toString() })
exitWithParent(async () => { await node.stop() })
