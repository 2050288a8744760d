/**
 * Worker of bench/discovery: hosts a share of the benchmark's mesh nodes in
 * one process (forked with IPC) and runs the measurements the parent asks
 * for. Not a test; prints nothing itself.
 */
import { createMeshNode, capabilityCid } from '@fleetmesh/peer'
import { deserializeIdentity, loopbackGossip } from '@fleetmesh/test-utils'
import type { MeshNode, NodeRole } from '@fleetmesh/peer'
import type { SerializedIdentity } from '@fleetmesh/test-utils'

/** One node to host: its role, region and listen address, and its key and certificate as `serializeIdentity` writes them. */
export interface BenchNodeSpec extends Pick<SerializedIdentity, 'key' | 'certificate'> { role: NodeRole, region: string, listen: string }
export type WorkerCommand =
  | { id: number, type: 'start', specs: BenchNodeSpec[], bootstrap: string[], swarmKey: string, authority: string }
  | { id: number, type: 'lookup', node: number, region: string, timeoutMs: number }
  | { id: number, type: 'publish', node: number, msgId: string }
  | { id: number, type: 'received', msgId: string }
  | { id: number, type: 'rss' }
  | { id: number, type: 'stop' }

const TOPIC = '/fleetmesh/1/presence'
const nodes: MeshNode[] = []
const arrivals = new Map<string, number[]>() // msgId -> arrival times (ms since epoch, sub-ms)
const got = new Map<MeshNode, Set<string>>()
const nodeGot = (n: MeshNode, id: string): boolean => got.get(n)?.has(id) ?? false
const now = (): number => performance.timeOrigin + performance.now()

async function handle (cmd: WorkerCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'start': {
      for (const spec of cmd.specs) {
        const node = await createMeshNode({
          role: spec.role,
          region: spec.region,
          ...deserializeIdentity({ ...spec, swarmKey: cmd.swarmKey, authority: cmd.authority }),
          listen: [spec.listen],
          bootstrap: cmd.bootstrap,
          gossip: loopbackGossip()
        })
        node.subscribe(TOPIC, (msg) => {
          const id = new TextDecoder().decode(msg.data)
          let set = got.get(node)
          if (set == null) { set = new Set(); got.set(node, set) }
          set.add(id)
          const list = arrivals.get(id) ?? []
          list.push(now())
          arrivals.set(id, list)
        })
        nodes.push(node)
      }
      return { addrs: nodes.map(n => n.getMultiaddrs().map(String)) }
    }
    case 'lookup': {
      const node = nodes[cmd.node] as MeshNode
      const cid = await capabilityCid('region', cmd.region)
      const start = now()
      const signal = AbortSignal.timeout(cmd.timeoutMs)
      try {
        for await (const provider of node.libp2p.contentRouting.findProviders(cid, { signal })) {
          if (!provider.id.equals(node.peerId)) return { ok: true, ms: now() - start }
        }
      } catch {}
      return { ok: false, ms: now() - start }
    }
    case 'publish': {
      const t = now()
      await (nodes[cmd.node] as MeshNode).publish(TOPIC, new TextEncoder().encode(cmd.msgId))
      return { t }
    }
    case 'received':
      return {
        times: arrivals.get(cmd.msgId) ?? [],
        missing: nodes.map((n, i) => ({ i, n })).filter(({ n }) => !nodeGot(n, cmd.msgId)).map(({ n }) => `${n.role}/${n.region} conns=${n.libp2p.getConnections().length} admitted=${n.peers().length} subs=${n.libp2p.services.pubsub.getSubscribers(TOPIC).length} refusals=${n.refusals().length}`)
      }
    case 'rss':
      return { rss: process.memoryUsage().rss, nodes: nodes.length }
    case 'stop':
      await Promise.allSettled(nodes.map(async n => n.stop()))
      setTimeout(() => process.exit(0), 10)
      return {}
  }
}

process.on('message', (cmd: WorkerCommand) => {
  handle(cmd).then(
    (result) => process.send?.({ id: cmd.id, ok: true, result }),
    (err) => process.send?.({ id: cmd.id, ok: false, error: String(err?.stack ?? err) })
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'up' })
