/**
 * A worker node in its own process for bench/sessions (forked with IPC,
 * config JSON in argv[2], as bench/jobs' worker). Reports
 * `{ type: 'ready', peerId }`; answers `{ type: 'counters' }` with
 * `{ type: 'counters', counters }` (its infer stream byte counters); exits
 * when the parent disconnects. `price` (credits per unit, no load factor)
 * makes the auction's choice among the bench's workers the same session
 * after session.
 */
import { sendToParent, startForkedStation } from '@fleetmesh/test-utils'
import type { JobsWorkerConfig } from './jobs-worker.js'

/** The worker's config file: bench/jobs' worker's, and its asking price. */
export interface SessionsWorkerConfig extends JobsWorkerConfig {
  /** credits per unit it asks, whatever its load @default the market's pricing */
  price?: number
}

const { node } = await startForkedStation<SessionsWorkerConfig>(config => ({
  worker: config.price != null ? { pricing: { basePricePerUnit: config.price, loadFactor: 0 } } : true,
  inference: { intraOpNumThreads: config.threads }
}))
process.on('message', (msg: any) => {
  if (msg?.type === 'counters') sendToParent({ type: 'counters', counters: { ...node.libp2p.services.inference?.counters } })
})
