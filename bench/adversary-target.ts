/**
 * The flood target of bench/adversary (insider part): a worker station in
 * its own process, so its resident set is its own. Forked with IPC, config
 * JSON in argv[2] (a {@link JobsWorkerConfig}). Reports
 * `{ type: 'ready', peerId, addrs }`; answers `{ type: 'sample' }` with
 * `{ type: 'sample', rssBytes, cpuMicros, heapUsedBytes, heapTotalBytes, externalBytes, arrayBuffersBytes, sessions, connections, streams }`
 * (bytes, CPU time used so far in µs, counts); answers `{ type: 'heap', file? }`
 * with a garbage collection (if started with --expose-gc), a heap snapshot
 * written to `file` if given, and `{ type: 'heap', file, ...process.memoryUsage() }`;
 * answers `{ type: 'cpu', action: 'start' | 'stop', file? }` by starting the
 * CPU profiler, or stopping it and writing its profile to `file`, with
 * `{ type: 'cpu', action }`; exits when the parent disconnects.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { writeHeapSnapshot } from 'node:v8'
import { sendToParent, startForkedStation } from '@fleetmesh/test-utils'
import type { JobsWorkerConfig } from './jobs-worker.js'

const { node } = await startForkedStation<JobsWorkerConfig>(config => ({
  worker: true,
  // STREAM_BUDGET=off: the per-connection inbound stream budget out of reach (to measure without it)
  ...(process.env.STREAM_BUDGET === 'off' ? { inboundStreamBudget: { perSecond: 1e9, burst: 1e9, cutAfter: 1e9 } } : {}),
  inference: { intraOpNumThreads: config.threads }
}), node => ({ addrs: node.getMultiaddrs().map(String) }))
let inspector: Session | undefined
let profiler: Session | undefined
process.on('message', (msg: any) => {
  if (msg?.type === 'cpu') {
    // the CPU profiler over one flood: where the target's time goes
    void (async () => {
      if (msg.action === 'start') {
        profiler = new Session()
        profiler.connect()
        await profiler.post('Profiler.enable')
        await profiler.post('Profiler.start')
      } else if (profiler != null) {
        const { profile } = await profiler.post('Profiler.stop')
        await writeFile(msg.file, JSON.stringify(profile))
        profiler.disconnect()
        profiler = undefined
      }
      sendToParent({ type: 'cpu', action: msg.action })
    })()
    return
  }
  if (msg?.type === 'allocations') {
    // the sampling heap profiler, counting objects collected since (what a flood allocates, by stack); `stop` writes the profile to `file`
    void (async () => {
      if (msg.action === 'start') {
        inspector = new Session()
        inspector.connect()
        await inspector.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as any)
      } else if (inspector != null) {
        const { profile } = await inspector.post('HeapProfiler.stopSampling')
        await writeFile(msg.file, JSON.stringify(profile))
        inspector.disconnect()
        inspector = undefined
      }
      sendToParent({ type: 'allocations', action: msg.action })
    })()
    return
  }
  if (msg?.type === 'heap') {
    // a forced collection (under --expose-gc) and, with `file`, a heap snapshot there
    (globalThis as any).gc?.()
    const file = typeof msg.file === 'string' ? writeHeapSnapshot(msg.file) : undefined
    sendToParent({ type: 'heap', file, ...process.memoryUsage() })
    return
  }
  if (msg?.type !== 'sample') return
  const connections = node.libp2p.getConnections()
  const mem = process.memoryUsage()
  sendToParent({
    type: 'sample',
    rssBytes: mem.rss,
    cpuMicros: process.cpuUsage().user + process.cpuUsage().system,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
    sessions: node.libp2p.services.inference?.sessions() ?? 0,
    connections: connections.length,
    streams: connections.reduce((a, c) => a + c.streams.length, 0)
  })
})
