/**
 * The real side of the simulator's calibration when no `bench/scale.ts`
 * figures are at hand: a mesh of `n` real nodes in this process (libp2p on
 * 127.x.y.z, market and ledger services) laid out as the simulator's
 * `scaleScenario(n)` lays out its fleet (two regions round robin, one
 * station in five, base prices spread over 0.5..1.5 in node order, two
 * leases per worker), measuring the figures `bench/scale.ts` names:
 *
 * - `gossipToAllP50Ms`, `gossipToAllP99Ms`: a message published by a random node on a probe
 *   topic every node subscribes to, until the last node has it;
 * - `findProvidersSuccess`, `findProvidersP50Ms`: findProviders of a
 *   random region's capability key from a random node, to the first
 *   provider (10 s timeout);
 * - `offerToAwardsP50Ms`: `submit()` to the job's `running` state;
 * - `receiptConvergenceMs`: the requester countersigns the job's receipts;
 *   from the last countersignature until every ledger holds them all (the
 *   worst job).
 *
 * Each node joins through node 0 and then dials DIALS_PER_NODE other
 * members; the mean connection count is reported (`connectionsPerNode`)
 * and given to the simulator as its `connectedPeers`.
 */
import { sha256 } from '@fleetmesh/ledger'
import { market, marketTopicScoreParams, ScriptedVehicleState } from '@fleetmesh/market'
import { capabilityCid } from '@fleetmesh/peer'
import { percentile, scaleScenario } from '@fleetmesh/sim'
import { createTestMesh, delay, loopbackGossip, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import type { Ledger } from '@fleetmesh/ledger'
import type { JobEvent, Market } from '@fleetmesh/market'
import type { MeshNode } from '@fleetmesh/peer'

/** The figures of one real run, named as bench/scale.ts names them. */
export interface RealFigures {
  gossipToAllP50Ms: number
  gossipToAllP99Ms: number
  findProvidersSuccess: number
  findProvidersP50Ms: number
  offerToAwardsP50Ms: number
  receiptConvergenceMs: number
  /** connections per node, mean (the simulator's `connectedPeers` for this mesh) */
  connectionsPerNode: number
}

const PROBE_TOPIC = '/fleetmesh/1/sim-probe'

/** Random members each node dials after joining through the bootstrap node. */
const DIALS_PER_NODE = 6

/** Starts the mesh, measures, stops every node. */
export async function measureRealMesh (n: number, options: { probes?: number, lookups?: number, jobs?: number } = {}): Promise<RealFigures> {
  const s = scaleScenario(n)
  const mesh = await createTestMesh({ gossip: loopbackGossip(marketTopicScoreParams(s.regions)) })
  try {
    const nodes: MeshNode[] = []
    const [lo, hi] = s.workers.basePricePerUnit
    const perRegion = s.regions.map(() => 0)
    const counts = s.regions.map((_, r) => Math.ceil((n - r) / s.regions.length))
    let bootstrap: string[] = []
    for (let i = 0; i < n; i++) {
      const r = i % s.regions.length
      const region = s.regions[r] as string
      const k = perRegion[r] as number
      perRegion[r] = k + 1
      const role = k < Math.max(1, Math.round((counts[r] as number) * s.stationShare)) ? 'station' : 'vehicle'
      const { privateKey, certificate } = await mesh.identity(role, region)
      const price = lo + (hi - lo) * i / (n - 1)
      const node = await mesh.add(role, region, {
        privateKey,
        certificate,
        bootstrap,
        services: {
          market: market({
            certificate,
            trustedAuthorities: [mesh.authority.publicKey],
            worker: {
              onLease: async (lease) => new TextEncoder().encode(`shard ${lease.shardIndex}`),
              pricing: { basePricePerUnit: price, loadFactor: s.workers.loadFactor ?? 0.5 },
              maxConcurrentLeases: s.workers.maxConcurrentLeases,
              vehicleState: role === 'vehicle' ? new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) : undefined
            }
          })
        }
      })
      if (i === 0) bootstrap = node.getMultiaddrs().map(String)
      nodes.push(node)
    }
    const requester = nodes[0] as MeshNode
    await waitAdmitted(requester, nodes.slice(1), 120_000)
    // beyond the bootstrap node, each node dials a few random members (a fleet's DHT lookups connect its nodes to many peers; a star would starve gossipsub's meshes)
    for (let i = 1; i < n; i++) {
      for (let d = 0; d < DIALS_PER_NODE; d++) {
        const other = nodes[1 + ((i * 31 + d * 17 + 7) % (n - 1))] as MeshNode
        if (other === nodes[i]) continue
        await (nodes[i] as MeshNode).libp2p.dial(other.getMultiaddrs()).catch(() => {})
      }
    }
    await waitUntil(() => nodes.every(a => a.libp2p.getConnections().every(c => requester === a || a.isAdmitted(c.remotePeer))), { timeoutMs: 60_000, message: 'every connection admitted' }).catch(() => {})
    const connectionsPerNode = nodes.reduce((sum, node) => sum + node.libp2p.getPeers().length, 0) / n
    for (const node of nodes) node.libp2p.services.pubsub.subscribe(PROBE_TOPIC)
    await delay(3000) // heartbeats graft the meshes

    // gossip to all
    const gossip: number[] = []
    for (let p = 0; p < (options.probes ?? 5); p++) {
      const origin = nodes[(p * 7919) % n] as MeshNode
      const tag = `probe-${p}-${Date.now()}`
      const got = new Set<MeshNode>()
      let last = 0
      const listeners = nodes.map(node => {
        const fn = (e: any): void => {
          if (e.detail.topic !== PROBE_TOPIC || new TextDecoder().decode(e.detail.data) !== tag) return
          got.add(node); last = Date.now()
        }
        node.libp2p.services.pubsub.addEventListener('message', fn)
        return fn
      })
      const t0 = Date.now()
      await origin.libp2p.services.pubsub.publish(PROBE_TOPIC, new TextEncoder().encode(tag))
      await waitUntil(() => got.size >= n - 1, { timeoutMs: 60_000, message: `probe ${p} to reach every node` }).catch(() => { last = Infinity })
      gossip.push(last - t0)
      nodes.forEach((node, i) => { node.libp2p.services.pubsub.removeEventListener('message', listeners[i] as (e: any) => void) })
    }

    // findProviders
    const lookups: Array<{ found: boolean, ms: number }> = []
    for (let l = 0; l < (options.lookups ?? 10); l++) {
      const src = nodes[(l * 104729) % n] as MeshNode
      const cid = await capabilityCid('region', s.regions[l % s.regions.length] as string)
      const t0 = Date.now()
      let found = false
      try {
        for await (const p of src.libp2p.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
          if (p.id.equals(src.peerId)) continue
          found = true
          break
        }
      } catch {}
      lookups.push({ found, ms: Date.now() - t0 })
    }

    // jobs and their receipts
    const awards: number[] = []
    const convergence: number[] = []
    const m = requester.libp2p.services.market as Market
    const ledgerOf = (node: MeshNode): Ledger => node.libp2p.services.ledger as unknown as Ledger
    const byPeer = new Map(nodes.map(node => [node.peerId.toString(), node]))
    let expected = 0
    for (let j = 0; j < (options.jobs ?? 5); j++) {
      const t0 = Date.now()
      let running = NaN
      const onJob = (e: CustomEvent<JobEvent>): void => { if (e.detail.state === 'running' && Number.isNaN(running)) running = Date.now() }
      m.addEventListener('job', onJob)
      const result = await m.submit({ modelCid: 'bafy-sim-calibration', shardUnits: s.job.shardUnits, maxPricePerUnit: s.job.maxPricePerUnit, deadline: Date.now() + s.job.deadlineMs, bidWindowMs: s.job.bidWindowMs })
      m.removeEventListener('job', onJob)
      awards.push(running - t0)
      // each ledger's time of its latest new entry (the 'entry' event), so no polling delay counts
      const lastEntry = new Map<MeshNode, number>()
      const onEntry = nodes.map(node => {
        const fn = (): void => { lastEntry.set(node, Date.now()) }
        ledgerOf(node).addEventListener('entry', fn)
        return fn
      })
      let c0 = Date.now()
      for (const sh of result.shards) {
        const worker = byPeer.get(sh.worker) as MeshNode
        const receipt = await ledgerOf(worker).signReceipt({ jobId: result.jobId, shardIndex: sh.shardIndex, replica: sh.replica ?? 0, requester: requester.peerId, modelCid: 'bafy-sim-calibration', inputDigest: sha256(Uint8Array.of(sh.shardIndex)), outputDigest: sha256(sh.result ?? new Uint8Array(0)), computeMs: 1, units: s.job.shardUnits[sh.shardIndex] as number, pricePerUnit: sh.pricePerUnit, startedAt: t0, finishedAt: Date.now(), leaseId: sh.leaseId })
        await ledgerOf(requester).countersign(receipt)
        // from the last countersignature (its receipt is the one still spreading; the simulator times each receipt from its own)
        c0 = Date.now()
      }
      expected += result.shards.length
      await waitUntil(() => nodes.every(node => ledgerOf(node).size >= expected), { timeoutMs: 120_000, message: `job ${j}'s receipts in every ledger` })
        .then(() => { convergence.push(Math.max(...nodes.map(node => lastEntry.get(node) ?? c0)) - c0) }, () => { convergence.push(Infinity) })
      nodes.forEach((node, i) => { ledgerOf(node).removeEventListener('entry', onEntry[i] as () => void) })
    }
    return {
      gossipToAllP50Ms: percentile(gossip, 0.5),
      gossipToAllP99Ms: percentile(gossip, 0.99),
      findProvidersSuccess: lookups.filter(l => l.found).length / lookups.length,
      findProvidersP50Ms: percentile(lookups.filter(l => l.found).map(l => l.ms), 0.5),
      offerToAwardsP50Ms: percentile(awards, 0.5),
      receiptConvergenceMs: Math.max(...convergence),
      connectionsPerNode
    }
  } finally {
    await mesh.stop()
  }
}
