import assert from 'node:assert/strict'
import { ALL_ANSWERED_SETTLE_MS, bidDrawn, bidsWantedFor, decideBid, planAwards } from '@fleetmesh/market'
import { TopicMesh } from '../src/gossip.js'
import { HostCpu } from '../src/cpu.js'
import { certificateCheck, EPOCH_MS, exchange, exchangeTask, runOffer, situationOf, termsOf } from '../src/market.js'
import { LinkModel } from '../src/network.js'
import { fleetScenario, scaleJobs, scaleScenario } from '../src/scenario.js'
import { simulate } from '../src/simulator.js'
import { Tasks } from '../src/tasks.js'
import { VEHICLE } from '../src/nodes.js'
import { testScenario, world } from './helpers.js'
import type { MarketWorld } from '../src/market.js'

function marketWorld (over: Parameters<typeof testScenario>[0] = {}): MarketWorld {
  const scenario = testScenario({ nodes: 40, regions: ['u33d', 'gcpv'], ...over })
  const { nodes, net, rng } = world(scenario)
  return { scenario, nodes, net, rng, offers: nodes.byRegion.map(m => new TopicMesh(m, nodes.size, rng)), bids: nodes.byRegion.map(m => new TopicMesh(m, nodes.size, rng)) }
}

/**
 * Leaves one vehicle of the first region free to work: every other vehicle
 * unavailable, every station at capacity; the requester has learnt that its
 * region holds one would-be bidder, so every worker is drawn to bid (bid
 * sampling asks for all).
 */
function oneFreeVehicle (w: MarketWorld): { region: Int32Array, free: number } {
  const region = w.nodes.byRegion[0]
  for (const node of region) {
    if (w.nodes.role[node] === VEHICLE) w.nodes.available[node] = 0
    else w.nodes.held[node] = w.scenario.workers.maxConcurrentLeases
  }
  const free = region.find(node => w.nodes.role[node] === VEHICLE) as number
  w.nodes.available[free] = 1
  w.estimates = new Map([[region[0], new Map([[0, 1]])]])
  return { region, free }
}

describe('market: a job round through the market\'s own functions', () => {
  it('reaches only the region\'s workers and awards what planAwards picks from decideBid\'s bids', () => {
    const w = marketWorld({ job: { shardUnits: [100, 100, 100], maxPricePerUnit: 1.2, deadlineMs: 30_000, bidWindowMs: 500 } })
    const requester = w.nodes.byRegion[0][0]
    const o = runOffer(w, requester, 'job-a', 1000)
    for (const node of o.reachedNodes) assert.equal(w.nodes.region[node], 0, `node ${node} is of the offer's region`)
    assert.equal(o.reached, o.eligible, 'every eligible worker of the region was reached')
    assert.equal(o.eligible, 19)
    // the bids the requester held are exactly decideBid's bids of the workers it heard from in time
    const terms = termsOf(w.scenario, 'u33d', 1000)
    for (const b of o.bids) {
      const node = w.nodes.names.indexOf(b.bidder)
      const d = decideBid({ jobId: 'job-a', region: 'u33d', openShardUnits: terms.shardUnits, maxPricePerUnit: terms.maxPricePerUnit, deadline: terms.deadline, minReputation: 0 }, situationOf(w, node), EPOCH_MS + 1000)
      assert.ok(d.bid, `${b.bidder} bids`)
      assert.equal(b.pricePerUnit, d.bid ? d.pricePerUnit : NaN, `${b.bidder}'s price`)
    }
    const plan = planAwards({ terms, bids: o.bids, open: [0, 1, 2].map(i => ({ shardIndex: i, replica: 0 })), now: EPOCH_MS + o.plannedAt })
    assert.deepEqual(o.awards.map(a => a.bidder), plan.awards.map(a => a.bidder))
    assert.equal(o.unplaced, 0)
    assert.ok(o.offerToAwardsMs > 0 && Number.isFinite(o.offerToAwardsMs))
    // workers priced over 1.2 never bid: base prices run 0.5..1.5 in node order
    for (const b of o.bids) assert.ok(b.pricePerUnit <= 1.2, `${b.bidder} asks ${b.pricePerUnit}`)
  })

  it('samples the bidders as the market does: a worker bids only if drawn for the bids the offer wants out of the region\'s would-be bidders, and the requester learns the region from them', () => {
    const w = marketWorld({ job: { shardUnits: [100], maxPricePerUnit: 2, deadlineMs: 30_000, bidWindowMs: 500 } })
    const requester = w.nodes.byRegion[0][0]
    w.estimates = new Map([[requester, new Map([[0, 19]])]])
    const o = runOffer(w, requester, 'job-s', 1000)
    const sample = { jobId: 'job-s', round: 0, bidsWanted: bidsWantedFor(1, 0), regionWorkers: 19 }
    const terms = termsOf(w.scenario, 'u33d', 1000)
    const wouldBid = o.reachedNodes.filter(node => decideBid({ jobId: 'job-s', region: 'u33d', openShardUnits: terms.shardUnits, maxPricePerUnit: terms.maxPricePerUnit, deadline: terms.deadline, minReputation: 0 }, situationOf(w, node), EPOCH_MS + 1000).bid)
    const drawn = wouldBid.filter(node => bidDrawn(sample, w.nodes.names[node])).map(node => w.nodes.names[node])
    assert.deepEqual(o.bids.map(b => b.bidder).sort(), drawn.sort(), 'the bidders are the would-be bidders drawn')
    assert.ok(o.bids.length < wouldBid.length, `fewer bids (${o.bids.length}) than would-be bidders (${wouldBid.length})`)
    assert.equal(w.estimates.get(requester)?.get(0), Math.ceil((19 + Math.ceil(o.bids.length / (8 / 19))) / 2), 'the estimate is averaged with what the bids say')
  })

  it('leaves out busy workers and vehicles whose owner policy forbids work', () => {
    const w = marketWorld()
    const { region, free } = oneFreeVehicle(w)
    const o = runOffer(w, region[0], 'job-b', 0)
    assert.deepEqual(o.bids.map(b => b.bidder), [w.nodes.names[free]], 'only the one available vehicle bids')
    assert.deepEqual(o.awards.map(a => a.worker), [free, free], 'it takes both shards (capacity: free leases, at most the open shards)')
    assert.equal(o.unplaced, 0)
    // with that vehicle busy too, nobody bids and both shards stay unplaced
    w.nodes.held[free] = w.scenario.workers.maxConcurrentLeases
    const none = runOffer(w, region[0], 'job-c', 0)
    assert.equal(none.bids.length, 0)
    assert.equal(none.unplaced, 2)
    assert.equal(none.offerToAwardsMs, Infinity)
  })

  it('on all-answered, waits ALL_ANSWERED_SETTLE_MS before it plans, as the requester does (a worker it does not know may still bid)', () => {
    // every worker of the region refuses but one vehicle, whose one bid is fewer than the job's minBids (2 shards): only all-answered can end the window early
    const w = marketWorld({ job: { shardUnits: [100, 100], maxPricePerUnit: 2, deadlineMs: 30_000, bidWindowMs: 3000 } })
    const { region, free } = oneFreeVehicle(w)
    const o = runOffer(w, region[0], 'job-settle', 0)
    assert.equal(o.reason, 'all-answered')
    assert.equal(o.heardAt.length, 1)
    // the last answer is the bid or a refusal (each one direct round trip of 10 ms links): at most 100 ms in; the plan comes ALL_ANSWERED_SETTLE_MS after it
    assert.ok(o.plannedAt >= o.heardAt[0] + ALL_ANSWERED_SETTLE_MS, `planned at ${o.plannedAt} ms, the bid heard at ${o.heardAt[0]} ms`)
    assert.ok(o.plannedAt <= 100 + ALL_ANSWERED_SETTLE_MS, `planned at ${o.plannedAt} ms`)
    assert.deepEqual(o.awards.map(a => a.worker), [free, free])
  })

  it('starts a worker\'s inference runtime on its first lease before its accept leaves (runnerStartMs of its host), not on its later ones', async () => {
    const base = { ...scaleScenario(40, 0.2), pingBidders: false, vehiclesOnBidsTopic: false }
    const plain = await simulate(base, { jobs: scaleJobs(base) })
    const started = await simulate({ ...base, runnerStartMs: 40 }, { jobs: scaleJobs(base) })
    const first = new Set<number>()
    let firsts = 0
    for (const o of started.offers) {
      for (const a of o.awards) {
        const gap = a.acceptedAt - a.servedAt
        if (!first.has(a.worker)) {
          first.add(a.worker)
          firsts++
          assert.ok(gap >= 40, `a first lease's accept left ${gap} ms after the award was handled`)
        }
      }
    }
    assert.ok(firsts >= 2, `${firsts} first leases`)
    // the plain run's accepts leave at once after the award was handled (the accept's way back only)
    for (const o of plain.offers) for (const a of o.awards) assert.ok(a.acceptedAt - a.servedAt < 40, `${a.acceptedAt - a.servedAt} ms`)
  })

  it('checks a signer\'s certificate at each node once: its first gossiped market message costs certificateUnits more there, later ones do not', async () => {
    const w = marketWorld({ processingMs: 0.5, certificateUnits: 2 })
    const check = certificateCheck(w, 3) as (node: number) => number
    assert.equal(check(7), 1, 'node 7\'s first message of signer 3: 2 units of 0.5 ms')
    assert.equal(check(7), 0, 'cached')
    assert.equal(check(8), 1, 'node 8 has its own cache')
    assert.equal((certificateCheck(w, 4) as (node: number) => number)(7), 1, 'another signer misses at node 7')
    assert.equal((certificateCheck(w, 3) as (node: number) => number)(7), 0, 'the cache outlives a message: a later offer of signer 3')
    assert.equal(certificateCheck(marketWorld({ processingMs: 0.5 }), 3), undefined, 'no certificateUnits: no extra CPU')
    // on shared hosts (bench/scale's processes) the first offer's spread takes the region's hosts longer: every node checks the requester's certificate
    const base = { ...scaleScenario(40, 0.2), pingBidders: false, vehiclesOnBidsTopic: false, wakeMs: 0 }
    const plain = await simulate(base, { jobs: scaleJobs(base) })
    const checked = await simulate({ ...base, certificateUnits: 3 }, { jobs: scaleJobs(base) })
    assert.ok(checked.offers[0].offerToAllMs > plain.offers[0].offerToAllMs + 1, `the first offer's spread: ${checked.offers[0].offerToAllMs} ms with certificate checks, ${plain.offers[0].offerToAllMs} ms without`)
  })

  it('slows every host while a runner process boots on the machine: work ready meanwhile takes (load + 1) / load as long, work after it does not', () => {
    // 2 cores at load 4: one more process makes the machine 5 / 4 as slow
    const cpu = new HostCpu(Int32Array.from([0, 1]), 2, 10, undefined, { cores: 2, load: 4 })
    assert.equal(cpu.run(0, 0, 8), 10 + 8, 'no extra process: the wake (10) and the work (8)')
    cpu.addProcess(100, 400)
    assert.equal(cpu.slowdownAt(99), 1)
    assert.equal(cpu.slowdownAt(100), 1.25)
    assert.equal(cpu.run(1, 200, 8), 200 + 1.25 * (10 + 8), 'ready during the boot: wake and work slowed')
    assert.equal(cpu.run(1, 400, 8), 400 + 10 + 8, 'ready after it: as before')
    cpu.addProcess(150, 300)
    assert.equal(cpu.slowdownAt(200), 1.5, 'two extra processes')
    // on an idle machine (load 1 on 2 cores) a booting process takes a free core: no slowdown
    const idle = new HostCpu(Int32Array.from([0]), 1, 0, undefined, { cores: 2, load: 1 })
    idle.addProcess(0, 100)
    assert.equal(idle.slowdownAt(50), 1)
    // without a machine nothing is modelled
    const none = new HostCpu(Int32Array.from([0]), 1)
    none.addProcess(0, 100)
    assert.equal(none.slowdownAt(50), 1)
  })

  it('serves an award\'s steps in arrival order at their hosts: the accept waits for the work that reached its host before it, not for work that came after', () => {
    // nodes 0 and 1 share host 0 (the stations' process), node 2 is on host 1; 10 ms links
    const w = marketWorld()
    const cpu = new HostCpu(Int32Array.from([0, 0, 1, ...Array(37).fill(-1)]), 2)
    const net = new LinkModel(w.scenario, w.nodes, cpu)
    const timed = { ...w, net }
    // a bid's relay: node 1 validates a copy for 30 ms, ready at 0, and each forward it causes arrives back as the previous one ends (five hops, to 150 ms)
    const tasks = new Tasks()
    let hop = 0
    let ready = 0
    tasks.add(0, () => { ready = cpu.run(1, ready, 30); return ++hop < 5 ? ready : Infinity })
    // the requester (node 0) awards node 2 at 0: the request reaches node 2 at 10, the accept node 0 at 21, while the first copy (ready at 0) is still validated
    let accepted = NaN
    exchangeTask(timed, tasks, 0, 2, 0, 0, 1, at => { accepted = at })
    tasks.run()
    assert.equal(accepted, 31, 'after the copy that was ready before it (0..30), before the forwards that came after it')
    assert.equal(hop, 5)
    // the same exchange computed after the relay's whole work (as a round that spread every bid before its awards): it waits for all of it
    const late = new HostCpu(Int32Array.from([0, 0, 1, ...Array(37).fill(-1)]), 2)
    let t = 0
    for (let k = 0; k < 5; k++) t = late.run(1, t, 30)
    assert.equal(exchange({ ...w, net: new LinkModel(w.scenario, w.nodes, late) }, 0, 2, 0, 0, 1), 151)
  })

  it('awards early once enough bids are in from bidders it does not ping (no RTT of theirs pending)', async () => {
    // a field fleet: regions of 1,000 nodes, a requester connected to 40 of them pings only those; the others' bids come with no RTT to wait for
    const s = { ...fleetScenario(2000), durationMs: 15 * 60 * 1000 }
    const r = await simulate(s)
    assert.ok(r.offers.length >= 3, `${r.offers.length} jobs`)
    for (const o of r.offers) {
      assert.equal(o.reason, 'enough-bids', `${o.jobId} planned for ${o.reason}`)
      assert.ok(o.plannedAt < o.submittedAt + r.scenario.job.bidWindowMs, `${o.jobId} planned ${o.plannedAt - o.submittedAt} ms after its offer, before the window closed`)
    }
  })
})
