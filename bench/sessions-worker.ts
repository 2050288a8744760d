/**
 * A worker node in its own process for bench/sessions (forked with IPC,
 * config JSON in argv[2], as bench/jobs' worker). Reports
 * `{ type: 'ready', peerId }`; answers `{ type: 'counters' }` with
 * `{ type: 'counters', counters }` (its infer stream byte counters); exits
 * when the parent disconnects.
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
process.on('message', (msg: any) => {
  if (msg?.type === 'counters') sendToParent({ type: 'counters', counters: { ...node.libp2p.services.inference?.counters } })
})
await node.announced()
sendToParent({ type: 'ready', peerId: node.peerId.toString() })
exitWithParent(async () => { await node.stop() })
