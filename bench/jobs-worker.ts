/**
 * A worker node in its own process for bench/jobs (forked with IPC, config
 * JSON in argv[2]: a serialized identity plus the fields of
 * {@link JobsWorkerConfig}). Reports `{ type: 'ready', peerId }`; exits when
 * the parent disconnects.
 */
import { readFile } from 'node:fs/promises'
import { createMeshNode } from '@fleetmesh/peer'
import { deserializeIdentity, exitWithParent, loopbackGossip, sendToParent } from '@fleetmesh/test-utils'
import type { SerializedIdentity } from '@fleetmesh/test-utils'

/** The worker's config file. */
export interface JobsWorkerConfig extends SerializedIdentity {
  bootstrap: string[]
  listen: string
  /** model store directory */
  storeDir: string
  /** onnxruntime threads */
  threads: number
}

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
sendToParent({ type: 'ready', peerId: node.peerId.toString() })
exitWithParent(async () => { await node.stop() })
