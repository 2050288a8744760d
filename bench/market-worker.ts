/**
 * Worker of bench/market: hosts a share of the benchmark's market workers in
 * one process (forked with IPC). Each node runs the market service as a
 * worker whose lease handler returns at once. Not a test; prints nothing.
 */
import { createMeshNode } from '@fleetmesh/peer'
import { market, ScriptedVehicleState } from '@fleetmesh/market'
import { deserializeIdentity, loopbackGossip } from '@fleetmesh/test-utils'
import type { MeshNode, NodeRole } from '@fleetmesh/peer'
import type { SerializedIdentity } from '@fleetmesh/test-utils'

/** One market worker to host: role, region, listen address, asking price, and its key and certificate as `serializeIdentity` writes them. */
export interface MarketBenchSpec extends Pick<SerializedIdentity, 'key' | 'certificate'> { role: NodeRole, region: string, listen: string, price: number }
export type MarketWorkerCommand =
  /** `grants`: the fleet's credit grants, base64 (the requester's: workers bid only for requesters that can pay) */
  | { id: number, type: 'start', specs: MarketBenchSpec[], bootstrap: string[], swarmKey: string, authority: string, grants: string[], gossip: any }
  | { id: number, type: 'rss' }
  | { id: number, type: 'stop' }

const nodes: MeshNode[] = []

async function handle (cmd: MarketWorkerCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'start': {
      const gossip = loopbackGossip(cmd.gossip)
      await Promise.all(cmd.specs.map(async spec => {
        const identity = deserializeIdentity({ ...spec, swarmKey: cmd.swarmKey, authority: cmd.authority, grants: cmd.grants })
        const { certificate, trustedAuthorities: trusted } = identity
        const node = await createMeshNode({
          role: spec.role,
          region: spec.region,
          ...identity,
          listen: [spec.listen],
          bootstrap: cmd.bootstrap,
          gossip,
          services: {
            market: market({
              certificate,
              trustedAuthorities: trusted,
              worker: {
                onLease: async (lease) => new TextEncoder().encode(String(lease.shardIndex)),
                pricing: { basePricePerUnit: spec.price, loadFactor: 0.5 },
                maxConcurrentLeases: 4,
                estimate: () => ({ msPerUnit: 1, setupMs: 0, modelCached: true }),
                // a vehicle works only with a state source: parked at SoC 0.9
                ...(spec.role === 'vehicle' ? { vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) } : {})
              }
            })
          }
        })
        nodes.push(node)
      }))
      return { peers: nodes.map(n => n.peerId.toString()) }
    }
    case 'rss':
      return { rss: process.memoryUsage().rss, nodes: nodes.length }
    case 'stop':
      await Promise.allSettled(nodes.map(async n => n.stop()))
      return {}
  }
}

process.on('message', (cmd: MarketWorkerCommand) => {
  handle(cmd).then(
    result => process.send?.({ id: cmd.id, ok: true, result }),
    err => process.send?.({ id: cmd.id, ok: false, error: String(err?.stack ?? err) })
  )
})
process.on('disconnect', () => { process.exit(0) })
process.send?.({ ready: true })
