/**
 * Worker of bench/market: hosts a share of the benchmark's market workers in
 * one process (forked with IPC). Each node runs the market service as a
 * worker whose lease handler returns at once. Not a test; prints nothing.
 */
import { createMeshNode } from '@fleetmesh/peer'
import { market, ScriptedVehicleState } from '@fleetmesh/market'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { importAuthorityPublicKey } from '@fleetmesh/protocol'
import type { MeshNode, NodeRole } from '@fleetmesh/peer'

export interface MarketBenchSpec { role: NodeRole, region: string, key: string, certificate: string, listen: string, price: number }
export type MarketWorkerCommand =
  | { id: number, type: 'start', specs: MarketBenchSpec[], bootstrap: string[], swarmKey: string, authority: string, gossip: any }
  | { id: number, type: 'rss' }
  | { id: number, type: 'stop' }

const nodes: MeshNode[] = []

async function handle (cmd: MarketWorkerCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'start': {
      const trusted = [importAuthorityPublicKey(cmd.authority)]
      const gossip = { scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']), topics: cmd.gossip } }
      await Promise.all(cmd.specs.map(async spec => {
        const certificate = Uint8Array.from(Buffer.from(spec.certificate, 'base64'))
        const node = await createMeshNode({
          role: spec.role,
          region: spec.region,
          privateKey: privateKeyFromProtobuf(Buffer.from(spec.key, 'base64')),
          certificate,
          swarmKey: cmd.swarmKey,
          trustedAuthorities: trusted,
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
