/**
 * Worker of bench/scale: hosts a share of the bench's nodes (the vehicles)
 * in one process, forked with IPC, and runs the probes the parent asks for.
 * Not a test; prints nothing itself.
 */
import { writeHeapSnapshot } from 'node:v8'
import { cpuProfile, ScaleProbe, startScaleNode, usage, warmUp } from './scale-node.js'
import type { ScaleFleet, ScaleNodeSpec } from './scale-node.js'

export type ScaleWorkerCommand =
  | { id: number, type: 'start', specs: ScaleNodeSpec[], fleet: ScaleFleet, concurrency: number }
  | { id: number, type: 'warm-up', spec: ScaleNodeSpec, fleet: ScaleFleet }
  | { id: number, type: 'ready' }
  | { id: number, type: 'usage' }
  | { id: number, type: 'last-open' }
  | { id: number, type: 'lookup', node: number, region: string, timeoutMs: number }
  | { id: number, type: 'publish', node: number, msgId: string }
  | { id: number, type: 'presence', msgId: string }
  | { id: number, type: 'presence-arrivals', msgId: string }
  | { id: number, type: 'loop-lag' }
  | { id: number, type: 'entries', ids: string[] }
  | { id: number, type: 'job', jobId: string }
  | { id: number, type: 'shape' }
  | { id: number, type: 'heap-snapshot', file: string }
  | { id: number, type: 'cpu-profile', ms: number, file: string }
  | { id: number, type: 'stop' }

const probe = new ScaleProbe()

async function handle (cmd: ScaleWorkerCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'start': {
      const queue = [...cmd.specs]
      await Promise.all(Array.from({ length: cmd.concurrency }, async () => {
        for (let spec = queue.shift(); spec != null; spec = queue.shift()) await startScaleNode(spec, cmd.fleet, probe)
      }))
      return { nodes: probe.nodes.length }
    }
    case 'warm-up':
      await warmUp(cmd.spec, cmd.fleet)
      return {}
    case 'ready':
      // a node counts as ready once a peer admitted it and its capabilities reached the DHT
      return {
        admitted: probe.nodes.filter(n => n.peers().length > 0).length,
        nodes: probe.nodes.length,
        // why the others wait: what they refused, and their open connections
        waiting: probe.nodes.filter(n => n.peers().length === 0).slice(0, 3).map(n => ({ refusals: n.refusals().map(r => r.code), connections: n.libp2p.getConnections().length }))
      }
    case 'usage':
      return usage()
    case 'last-open':
      return { at: probe.lastConnectionOpenAt }
    case 'lookup':
      return probe.lookup(cmd.node, cmd.region, cmd.timeoutMs)
    case 'publish':
      return { t: await probe.publish(cmd.node, cmd.msgId) }
    case 'presence':
      return { times: probe.presenceTimes(cmd.msgId) }
    case 'presence-arrivals':
      return { arrivals: probe.presenceArrivals(cmd.msgId) }
    case 'loop-lag':
      return probe.loopLag()
    case 'entries':
      return probe.entryArrivals(cmd.ids)
    case 'job':
      return probe.jobTimes(cmd.jobId)
    case 'shape':
      return probe.shape()
    case 'heap-snapshot':
      return { file: writeHeapSnapshot(cmd.file) }
    case 'cpu-profile':
      return { file: await cpuProfile(cmd.ms, cmd.file) }
    case 'stop':
      await probe.stop()
      setTimeout(() => process.exit(0), 10)
      return {}
  }
}

process.on('message', (cmd: ScaleWorkerCommand) => {
  handle(cmd).then(
    (result) => process.send?.({ id: cmd.id, ok: true, result }),
    (err) => process.send?.({ id: cmd.id, ok: false, error: String(err?.stack ?? err) })
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'up' })
