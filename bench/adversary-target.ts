/**
 * The flood target of bench/adversary (insider part): a worker station in
 * its own process, so its resident set is its own. Forked with IPC, config
 * JSON in argv[2] (a {@link JobsWorkerConfig}). Reports
 * `{ type: 'ready', peerId, addrs }`; answers `{ type: 'sample' }` with
 * `{ type: 'sample', rssBytes, cpuMicros, heapUsedBytes, heapTotalBytes, externalBytes, arrayBuffersBytes, sessions, connections, streams }`
 * (bytes, CPU time used so far in µs, counts); answers `{ type: 'heap', file? }`
 * with a garbage collection (if started with --expose-gc), a heap snapshot
 * written to `file` if given, and `{ type: 'heap', file, ...process.memoryUsage() }`;
 * answers `{ type: 'cpu' | 'allocations', action: 'start' | 'stop', file? }`
 * by starting the CPU or the sampling heap profiler, or stopping it and
 * writing its profile to `file`, with `{ type, action }`; exits when the
 * parent disconnects.
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
/**
 * The inspector's profilers over one flood: 'cpu' (where the target's time
 * goes) and 'allocations' (the sampling heap profiler, counting objects
 * collected since: what a flood allocates, by stack). `start` starts it,
 * `stop` writes its profile to `file`; answered with `{ type, action }`.
 */
const profilers: Record<string, { start: string, stop: string, params?: object, session?: Session }> = {
  cpu: { start: 'Profiler.start', stop: 'Profiler.stop' },
  allocations: { start: 'HeapProfiler.startSampling', stop: 'HeapProfiler.stopSampling', params: { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } }
}
process.on('message', (msg: any) => {
  const profiler = profilers[msg?.type]
  if (profiler != null) {
    void (async () => {
      if (msg.action === 'start') {
        const session = profiler.session = new Session()
        session.connect()
        if (msg.type === 'cpu') await session.post('Profiler.enable')
        await session.post(profiler.start as any, profiler.params as any)
      } else if (profiler.session != null) {
        const { profile } = await profiler.session.post(profiler.stop as any) as any
        await writeFile(msg.file, JSON.stringify(profile))
        profiler.session.disconnect()
        profiler.session = undefined
      }
      sendToParent({ type: msg.type, action: msg.action })
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
