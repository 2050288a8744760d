import assert from 'node:assert/strict'
import { sha256 } from '@fleetmesh/ledger'
import { market, marketTopicScoreParams, ScriptedVehicleState } from '@fleetmesh/market'
import { createTestMesh, delay, loopbackGossip, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { LOOPBACK_LINK } from '../src/scenario.js'
import { simulate } from '../src/simulator.js'
import type { FleetNode } from '../src/nodes.js'
import type { Scenario } from '../src/scenario.js'
import type { Ledger } from '@fleetmesh/ledger'
import type { BidEvent, JobEvent, LeaseHandler, Market } from '@fleetmesh/market'
import type { MeshNode } from '@fleetmesh/peer'
import type { TestMesh } from '@fleetmesh/test-utils'

/**
 * The simulator against a real mesh of the same fleet: 14 real nodes
 * (libp2p on 127.x.y.z, the market and ledger services) in two regions,
 * and the simulator run on the same nodes (PeerIds, roles, regions,
 * prices, owner policies). The offer must reach the same workers, the same
 * workers must bid or refuse, the awards must go to the same workers, and
 * the receipts of the job must converge to the same balances everywhere.
 */

const REGIONS = ['u33d', 'gcpv']
const SHARDS = [100, 100, 100, 100, 100, 100]
const BID_WINDOW_MS = 10_000

interface Spec { name: string, role: 'station' | 'vehicle', region: string, price: number, driving?: boolean }

// u33d: two stations and three parked vehicles bid; a driving vehicle and a station asking over the maximum refuse; gcpv is cheaper and must never see the offer
const WORKERS: Spec[] = [
  { name: 'S1', role: 'station', region: 'u33d', price: 0.5 },
  { name: 'S2', role: 'station', region: 'u33d', price: 0.8 },
  { name: 'V1', role: 'vehicle', region: 'u33d', price: 1.0 },
  { name: 'V2', role: 'vehicle', region: 'u33d', price: 1.2 },
  { name: 'V3', role: 'vehicle', region: 'u33d', price: 1.4 },
  { name: 'V4', role: 'vehicle', region: 'u33d', price: 0.3, driving: true },
  { name: 'X', role: 'station', region: 'u33d', price: 2.5 },
  { name: 'G0', role: 'station', region: 'gcpv', price: 0.1 },
  { name: 'G1', role: 'station', region: 'gcpv', price: 0.2 },
  { name: 'G2', role: 'vehicle', region: 'gcpv', price: 0.1 },
  { name: 'G3', role: 'vehicle', region: 'gcpv', price: 0.1 },
  { name: 'G4', role: 'vehicle', region: 'gcpv', price: 0.1 },
  { name: 'G5', role: 'vehicle', region: 'gcpv', price: 0.1 }
]

const work: LeaseHandler = async (lease, signal) => {
  await delay(100, signal)
  return new TextEncoder().encode(`shard ${lease.shardIndex}`)
}

describe('simulator against a real mesh of the same 14 nodes', function () {
  this.timeout(120_000)
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop() })

  it('reaches the same workers, awards the same workers and converges to the same balances', async () => {
    mesh = await createTestMesh({ gossip: loopbackGossip(marketTopicScoreParams(REGIONS)) })
    const add = async (role: 'station' | 'vehicle', region: string, bootstrap: string[], worker?: Spec): Promise<MeshNode> => {
      const { privateKey, certificate } = await (mesh as TestMesh).identity(role, region)
      const services = {
        market: market({
          certificate,
          trustedAuthorities: [(mesh as TestMesh).authority.publicKey],
          worker: worker == null
            ? undefined
            : {
                onLease: work,
                pricing: { basePricePerUnit: worker.price, loadFactor: 0.5 },
                maxConcurrentLeases: 2,
                vehicleState: role === 'vehicle' ? new ScriptedVehicleState({ drive: worker.driving === true ? 'driving' : 'parked', soc: 0.9, batteryTempC: 20 }) : undefined
              }
        })
      }
      return await (mesh as TestMesh).add(role, region, { privateKey, certificate, bootstrap, services })
    }
    const requester = await add('station', 'u33d', [])
    const bootstrap = requester.getMultiaddrs().map(String)
    const workers: MeshNode[] = []
    for (const w of WORKERS) workers.push(await add(w.role, w.region, bootstrap, w))
    const marketOf = (n: MeshNode): Market => n.libp2p.services.market as Market
    const ledgerOf = (n: MeshNode): Ledger => n.libp2p.services.ledger as unknown as Ledger
    const nameOf = new Map<string, string>([[requester.peerId.toString(), 'R'], ...workers.map((n, i) => [n.peerId.toString(), WORKERS[i].name] as [string, string])])
    const name = (peer: string): string => nameOf.get(peer) ?? peer
    await waitAdmitted(requester, workers, 30_000)
    await delay(1500) // gossipsub heartbeat grafts the meshes

    // the real job
    const offersSeen = new Set<string>()
    workers.forEach((n, i) => { marketOf(n).addEventListener('offer', () => { offersSeen.add(WORKERS[i].name) }) })
    const bids: BidEvent[] = []
    const refusals: string[] = []
    const jobs: JobEvent[] = []
    marketOf(requester).addEventListener('bid', (e) => { if (e.detail.side === 'received') bids.push(e.detail) })
    marketOf(requester).addEventListener('refusal', (e) => { refusals.push(name(e.detail.worker)) })
    marketOf(requester).addEventListener('job', (e) => { jobs.push(e.detail) })
    const result = await marketOf(requester).submit({ modelCid: 'bafy-sim-model', shardUnits: SHARDS, maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs: BID_WINDOW_MS })
    const realAwards = result.shards.map(s => name(s.worker)).sort()
    const bidding = jobs.find(j => j.state === 'bidding')?.at ?? NaN
    const awarding = jobs.find(j => j.state === 'awarding')?.at ?? NaN

    // the receipts: each worker signs its shard's receipt, the requester countersigns (then the ledgers gossip and reconcile)
    for (const s of result.shards) {
      const w = workers[WORKERS.findIndex((_, i) => workers[i].peerId.toString() === s.worker)]
      const receipt = await ledgerOf(w).signReceipt({ jobId: result.jobId, shardIndex: s.shardIndex, replica: s.replica ?? 0, requester: requester.peerId, modelCid: 'bafy-sim-model', inputDigest: sha256(Uint8Array.of(s.shardIndex)), outputDigest: sha256(s.result ?? new Uint8Array(0)), computeMs: 100, units: 100, pricePerUnit: s.pricePerUnit, startedAt: bidding, finishedAt: Date.now(), leaseId: s.leaseId })
      await ledgerOf(requester).countersign(receipt)
    }
    const all = [requester, ...workers]
    const sheet = (n: MeshNode): string => JSON.stringify(ledgerOf(n).balances())
    await waitUntil(() => all.every(n => sheet(n) === sheet(requester)) && ledgerOf(requester).balances().receipts === SHARDS.length, { timeoutMs: 60_000, message: 'every real ledger to hold the job\'s 6 receipts' })
    const real = ledgerOf(requester).balances()

    // the simulator on the same fleet
    const fleet: FleetNode[] = [
      { name: requester.peerId.toString(), role: 'station', region: 'u33d', basePricePerUnit: 1 },
      ...WORKERS.map((w, i) => ({ name: workers[i].peerId.toString(), role: w.role, region: w.region, basePricePerUnit: w.price, available: w.driving !== true }))
    ]
    const scenario: Scenario = {
      name: 'real-mesh-14',
      nodes: fleet.length,
      regions: REGIONS,
      stationShare: 0,
      links: { backbone: { ...LOOPBACK_LINK }, interRegion: { ...LOOPBACK_LINK }, cellular: { ...LOOPBACK_LINK } },
      processingMs: 1,
      durationMs: 20_000,
      jobsPerHour: 0,
      job: { shardUnits: SHARDS, maxPricePerUnit: 2, deadlineMs: 30_000, bidWindowMs: BID_WINDOW_MS },
      workers: { basePricePerUnit: [1, 1], maxConcurrentLeases: 2, loadFactor: 0.5 },
      receipts: 'exact'
    }
    const sim = await simulate(scenario, { fleet, jobs: [{ atMs: 0, requester: 0 }] })
    const o = sim.offers[0]

    assert.deepEqual(o.reachedNodes.map(i => name(fleet[i].name)).sort(), [...offersSeen].sort(), 'the offer reached the same workers')
    assert.deepEqual([...offersSeen].sort(), ['S1', 'S2', 'V1', 'V2', 'V3', 'V4', 'X'], 'only u33d workers saw it')
    assert.deepEqual(o.bids.map(b => name(b.bidder)).sort(), bids.map(b => name(b.bidder)).sort(), 'the same workers bid')
    assert.deepEqual(o.bids.map(b => [name(b.bidder), b.pricePerUnit]).sort(), bids.map(b => [name(b.bidder), b.pricePerUnit]).sort(), 'at the same prices')
    assert.deepEqual([...new Set(refusals)].sort(), ['V4', 'X'], 'the driving vehicle and the over-priced station refused')
    assert.deepEqual(o.awards.map(a => name(a.bidder)).sort(), realAwards, 'the awards went to the same workers')
    assert.deepEqual(realAwards, ['S1', 'S1', 'S2', 'S2', 'V1', 'V1'])
    // timing, within a stated bound: both award early (every region worker answered), well inside the 10 s window
    assert.equal(o.reason, 'all-answered')
    assert.ok(o.plannedAt < BID_WINDOW_MS, `the simulated requester planned at ${o.plannedAt} ms`)
    assert.ok(awarding - bidding < BID_WINDOW_MS, `the real requester planned ${awarding - bidding} ms after publishing`)

    assert.equal(sim.converged, true, 'every simulated node holds the same receipt set')
    for (const [i, b] of (sim.balances ?? []).entries()) {
      assert.deepEqual(b.peers, real.peers, `simulated node ${name(fleet[i].name)}'s balances equal the real ledgers'`)
      assert.equal(b.receipts, real.receipts, `simulated node ${name(fleet[i].name)}'s receipt count`)
    }
  })
})
