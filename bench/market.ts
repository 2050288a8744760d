/**
 * bench/market: one requester (this process) and 50 market workers spread
 * over worker processes on 127.0.0.0/8, all in one region. Measures
 *  - offer → all-awards latency: from `submit()` (the offer is published)
 *    to the job's `running` state (every shard holds an accepted lease),
 *    p50/p99 over sequential jobs of 50 shards; reported with and without
 *    the bid window (the requester awards once enough bids are in, the
 *    window is only its upper bound); `figures.offerToAwardsP50Ms`/`P99Ms`
 *    are the time beyond the bid window,
 *  - bids/s handled at the requester under a burst of concurrent offers
 *    (bids validated and entered into auctions per second of the burst),
 *  - bids/s through the pure validator alone (signature, certificate cache,
 *    decoding, replay window) in one process.
 * Prints one JSON object. Run: npm run bench:market -- [--workers-count 50] [--processes 4] [--jobs 20] [--burst 10] [--bid-window 500]
 */
import { IpcWorker, percentile } from './ipc-worker.js'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createAuthority, createMeshNode, issueCertificate } from '@fleetmesh/peer'
import { createFleetKeys, createTestGrant, createTestIdentity, loopbackGossip, loopbackListen, serializeFleetKeys, serializeIdentity } from '@fleetmesh/test-utils'
import { market, marketTopicScoreParams, ReplayWindow, CertificateCache, sealMarketMessage, validateMarketMessage } from '@fleetmesh/market'
import { BidderRole, MAX_BID_BYTES } from '@fleetmesh/protocol'
import type { MarketBenchSpec, MarketWorkerCommand } from './market-worker.js'
import type { Market, JobEvent, BidEvent } from '@fleetmesh/market'
import type { NodeRole } from '@fleetmesh/peer'

const { values } = parseArgs({
  options: {
    'workers-count': { type: 'string', default: '50' },
    processes: { type: 'string', default: '4' },
    jobs: { type: 'string', default: '20' },
    burst: { type: 'string', default: '10' },
    'bid-window': { type: 'string', default: '500' }
  }
})
const REGION = 'u33d'

async function validatorThroughput (): Promise<number> {
  const authority = await createAuthority()
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const certificate = await issueCertificate(authority, { peerId, role: 'station', region: REGION })
  const n = 2000
  const sealed: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    sealed.push(await sealMarketMessage({ bid: { jobId: `j${i}`, bidder: peerId.toMultihash().bytes, pricePerUnit: 1, msPerUnit: 1, setupMs: 0, capacity: 1, modelCached: true, role: BidderRole.STATION, round: 0, addrs: [] } }, { privateKey: key, certificate }))
  }
  const replay = new ReplayWindow()
  const certificates = new CertificateCache()
  const t0 = performance.now()
  for (const bytes of sealed) {
    await validateMarketMessage({ now: Date.now(), trustedAuthorities: [authority.publicKey], replay, certificates, maxBytes: MAX_BID_BYTES, expect: ['bid'], region: REGION }, bytes)
  }
  return Math.round(n / ((performance.now() - t0) / 1000))
}

async function main (): Promise<Record<string, unknown>> {
  const size = Number(values['workers-count'])
  const processCount = Number(values.processes)
  const jobs = Number(values.jobs)
  const burst = Number(values.burst)
  const bidWindowMs = Number(values['bid-window'])
  const keys = await createFleetKeys()
  const { authority } = keys
  const { swarmKey, authority: authorityPub } = serializeFleetKeys(keys)
  const topics = marketTopicScoreParams([REGION])

  const { privateKey: rKey, certificate: rCert, peerId: rPeerId } = await createTestIdentity(authority, { role: 'station', region: REGION })
  // the requester spends from a grant every worker knows of (the ledger's requireFunds: without one every worker answers NoBid FUNDS)
  const grant = await createTestGrant(authority, rPeerId.toString())
  const requester = await createMeshNode({
    role: 'station',
    region: REGION,
    privateKey: rKey,
    certificate: rCert,
    ledger: { grants: [grant] },
    swarmKey: keys.swarmKey,
    trustedAuthorities: [authority.publicKey],
    listen: [loopbackListen()],
    maxConnections: 400,
    gossip: loopbackGossip(topics),
    services: { market: market({ certificate: rCert, trustedAuthorities: [authority.publicKey], bidWindowMs }) }
  })
  const m = requester.libp2p.services.market as Market
  const specs: MarketBenchSpec[] = []
  for (let i = 0; i < size; i++) {
    const role: NodeRole = i % 5 === 0 ? 'station' : 'vehicle'
    const { key, certificate } = serializeIdentity(await createTestIdentity(authority, { role, region: REGION }), keys)
    specs.push({ role, region: REGION, key, certificate, listen: loopbackListen(), price: 0.5 + (i % 10) / 10 })
  }
  const workers = await Promise.all(Array.from({ length: processCount }, async () => IpcWorker.fork<MarketWorkerCommand>(new URL('./market-worker.js', import.meta.url))))
  try {
    const bootstrap = requester.getMultiaddrs().map(String)
    const shares: MarketBenchSpec[][] = workers.map(() => [])
    specs.forEach((s, i) => shares[i % workers.length]!.push(s))
    const t0 = Date.now()
    await Promise.all(workers.map(async (w, wi) => w.call({ type: 'start', specs: shares[wi]!, bootstrap, swarmKey, authority: authorityPub, grants: [Buffer.from(grant).toString('base64')], gossip: topics })))
    const deadline = Date.now() + 60_000
    while (requester.libp2p.services.admission.admitted().length < size && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
    const startupMs = Date.now() - t0
    await new Promise(resolve => setTimeout(resolve, 3000)) // gossip meshes graft

    const states = new Map<string, JobEvent[]>()
    m.addEventListener('job', (e) => {
      const list = states.get(e.detail.jobId) ?? []
      list.push(e.detail)
      states.set(e.detail.jobId, list)
    })
    const bidTimes: number[] = []
    const bidsPerJob = new Map<string, number>()
    m.addEventListener('bid', (e: CustomEvent<BidEvent>) => { bidTimes.push(Date.now()); bidsPerJob.set(e.detail.jobId, (bidsPerJob.get(e.detail.jobId) ?? 0) + 1) })

    // sequential jobs: one shard per worker
    const toAwards: number[] = []
    const afterWindow: number[] = []
    const complete: number[] = []
    const bidsSeen: number[] = []
    let failures = 0
    for (let j = 0; j < jobs; j++) {
      const submitted = Date.now()
      try {
        const r = await m.submit({ modelCid: 'bafy-bench', shardUnits: Array.from({ length: size }, () => 10), maxPricePerUnit: 5, deadline: Date.now() + 60_000 })
        const ev = states.get(r.jobId) ?? []
        const running = ev.find(e => e.state === 'running')
        const awarding = ev.find(e => e.state === 'awarding')
        if (running != null) toAwards.push(running.at - submitted)
        if (running != null && awarding != null) afterWindow.push(running.at - awarding.at)
        complete.push(r.completedAt - submitted)
        bidsSeen.push(bidsPerJob.get(r.jobId) ?? 0)
      } catch {
        failures++
      }
    }

    // burst: concurrent offers, one shard each; bids per second the requester handles
    bidTimes.length = 0
    const burstStart = Date.now()
    await Promise.allSettled(Array.from({ length: burst }, async () => m.submit({ modelCid: 'bafy-bench', shardUnits: [10], maxPricePerUnit: 5, deadline: Date.now() + 60_000, bidWindowMs: 3000 })))
    const burstBids = bidTimes.length
    const burstSpan = bidTimes.length > 1 ? (bidTimes[bidTimes.length - 1]! - burstStart) / 1000 : NaN

    const rss = await Promise.all(workers.map(async w => w.call<{ rss: number }>({ type: 'rss' })))
    const beyondWindow = toAwards.map(ms => ms - bidWindowMs)
    return {
      figures: {
        // offer -> every shard holds an accepted lease, minus the bid window (negative: awarded before the window ended)
        offerToAwardsP50Ms: percentile(beyondWindow, 50),
        offerToAwardsP99Ms: percentile(beyondWindow, 99)
      },
      workers: size,
      workerProcesses: processCount,
      region: REGION,
      startupMs,
      bidWindowMs,
      offerToAllAwards: {
        jobs,
        shardsPerJob: size,
        failures,
        p50Ms: percentile(toAwards, 50),
        p99Ms: percentile(toAwards, 99),
        afterBidWindowP50Ms: percentile(afterWindow, 50),
        afterBidWindowP99Ms: percentile(afterWindow, 99),
        offerToCompleteP50Ms: percentile(complete, 50),
        meanBidsPerJob: bidsSeen.length > 0 ? bidsSeen.reduce((a, b) => a + b, 0) / bidsSeen.length : 0
      },
      bidsPerSecond: {
        requesterBurst: Number.isFinite(burstSpan) ? Math.round(burstBids / burstSpan) : null,
        burstOffers: burst,
        burstBids,
        validatorOnly: await validatorThroughput()
      },
      rssPerWorkerNodeMB: Math.round(rss.reduce((a, r) => a + r.rss, 0) / size / 1024 / 1024 * 10) / 10
    }
  } finally {
    await Promise.allSettled(workers.map(async w => w.call({ type: 'stop' }, 30_000)))
    for (const w of workers) if (w.child.exitCode == null) w.child.kill('SIGKILL')
    await requester.stop()
  }
}

console.log(JSON.stringify(await main(), null, 2))
process.exit(0)
