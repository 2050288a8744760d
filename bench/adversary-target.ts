/**
 * The flood target of bench/adversary (insider part): a worker station in
 * its own process, so its resident set is its own. Forked with IPC, config
 * JSON in argv[2] (a {@link JobsWorkerConfig}). Reports
 * `{ type: 'ready', peerId, addrs }`; answers `{ type: 'sample' }` with
 * `{ type: 'sample', rssBytes, cpuMicros, heapUsedBytes, sessions, connections, streams }`
 * (bytes, CPU time used so far in µs, counts); exits when the parent disconnects.
 */
import { readFile } from 'node:fs/promises'
import { createMeshNode } from '@fleetmesh/peer'
import { deserializeIdentity, exitWithParent, loopbackGossip, sendToParent } from '@fleetmesh/test-utils'
import type { JobsWorkerConfig } from './jobs-worker.js'

const config: JobsWorkerConfig = JSON.parse(await readFile(process.argv[2] as string, 'utf8'))
const node = await createMeshNode({
  role: 'station',
  region: 'u33d',
  ...deserializeIdentity(config),
  listen: [config.listen],
  bootstrap: config.bootstrap,
  modelStore: { dir: config.storeDir },
  worker: true,
  inference: { intraOpNumThreads: config.threads },
  gossip: loopbackGossip()
})
await node.announced()
process.on('message', (msg: any) => {
  if (msg?.type !== 'sample') return
  const connections = node.libp2p.getConnections()
  const mem = process.memoryUsage()
  sendToParent({
    type: 'sample',
    rssBytes: mem.rss,
    cpuMicros: process.cpuUsage().user + process.cpuUsage().system,
    heapUsedBytes: mem.heapUsed,
    sessions: node.libp2p.services.inference?.sessions() ?? 0,
    connections: connections.length,
    streams: connections.reduce((a, c) => a + c.streams.length, 0)
  })
})
sendToParent({ type: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
exitWithParent(async () => { await node.stop() })
