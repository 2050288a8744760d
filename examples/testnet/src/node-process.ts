/**
 * One testnet node, run as its own process by `testnet.ts` (forked with an
 * IPC channel). It starts a mesh node from the JSON config file named in
 * argv[2], reports `ready` with its PeerId and addresses, answers `peers`
 * and `find` requests, and on `stop`, SIGINT or SIGTERM stops the node and
 * exits 0.
 */
import { readFile } from 'node:fs/promises'
import { createMeshNode, importAuthorityPublicKey } from '@fleetmesh/peer'
import type { FindPeersQuery, MeshPeer, NodeRole } from '@fleetmesh/peer'

/** The config file `testnet.ts` writes for each node. */
export interface NodeProcessConfig {
  name: string
  role: NodeRole
  region: string
  dataDir: string
  certificate: string
  swarmKey: string
  trustedAuthorities: string[]
  listen: string[]
  bootstrap: string[]
}

/** Messages from the parent. */
export type ParentMessage = { id: number, type: 'peers' } | { id: number, type: 'find', query: FindPeersQuery } | { id: number, type: 'stop' }

/** A peer as sent over IPC (plain data). */
export interface PeerRow { peerId: string, role: NodeRole, region: string, rttMs?: number, sharedPrefix: number, addrs: string[] }

const toRow = (p: MeshPeer): PeerRow => ({ peerId: p.peerId.toString(), role: p.role, region: p.region, rttMs: p.rttMs, sharedPrefix: p.sharedPrefix, addrs: p.multiaddrs.map(String) })

const config: NodeProcessConfig = JSON.parse(await readFile(process.argv[2] as string, 'utf8'))
const node = await createMeshNode({
  role: config.role,
  region: config.region,
  dataDir: config.dataDir,
  certificate: Buffer.from(config.certificate, 'base64'),
  swarmKey: config.swarmKey,
  trustedAuthorities: config.trustedAuthorities.map(importAuthorityPublicKey),
  listen: config.listen,
  bootstrap: config.bootstrap,
  // loopback dials all leave from 127.0.0.1: see gossipsub's IP-colocation penalty in DESIGN.md
  gossip: { scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']) } }
})

let stopping = false
async function shutdown (code: number): Promise<void> {
  if (stopping) return
  stopping = true
  await node.stop().catch(() => {})
  process.exit(code)
}
process.on('SIGINT', () => { void shutdown(0) })
process.on('SIGTERM', () => { void shutdown(0) })
process.on('disconnect', () => { void shutdown(0) }) // the parent died: never outlive it

process.on('message', (msg: ParentMessage) => {
  void (async () => {
    try {
      if (msg.type === 'peers') {
        process.send?.({ id: msg.id, ok: true, peers: node.peers().map(toRow) })
      } else if (msg.type === 'find') {
        const found = await node.findPeers(msg.query)
        process.send?.({ id: msg.id, ok: true, peers: found.map(toRow) })
      } else if (msg.type === 'stop') {
        process.send?.({ id: msg.id, ok: true })
        await shutdown(0)
      }
    } catch (err: any) {
      process.send?.({ id: msg.id, ok: false, error: `${err?.name ?? 'Error'}: ${err?.message ?? err}` })
    }
  })()
})

void node.announced().then(() => {
  process.send?.({ type: 'ready', name: config.name, peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
})
