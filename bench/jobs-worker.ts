/**
 * A worker node in its own process for bench/jobs (forked with IPC, config
 * JSON in argv[2]: a serialized identity plus the fields of
 * {@link JobsWorkerConfig}). Reports `{ type: 'ready', peerId }`; exits when
 * the parent disconnects.
 */
import { startForkedStation } from '@fleetmesh/test-utils'
import type { ForkedStationConfig } from '@fleetmesh/test-utils'

/** The worker's config file. */
export interface JobsWorkerConfig extends ForkedStationConfig {
  /** onnxruntime threads */
  threads: number
}

await startForkedStation<JobsWorkerConfig>(config => ({ worker: true, inference: { intraOpNumThreads: config.threads } }))
