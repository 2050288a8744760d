/**
 * bench/discovery: starts meshes of 50 and 100 nodes on 127.0.0.0/8 (split
 * across worker processes), then measures
 *  - DHT findProviders (`region/<r>`, time to the first provider other than
 *    the seeker) p50/p99 and success rate within the timeout,
 *  - gossip propagation to all nodes p50/p99 (publish to the last arrival)
 *    and the share of nodes each message reached,
 *  - RSS per node (MB): the workers' RSS summed, divided by the node count.
 * Prints one JSON object. Run: npm run bench:discovery -- [--sizes 50,100] [--workers 4]
 */
import { IpcWorker, percentile } from './ipc-worker.js'
import { parseArgs } from 'node:util'
import { createFleetKeys, createTestIdentity, loopbackListen, serializeFleetKeys, serializeIdentity } from '@fleetmesh/test-utils'
import type { BenchNodeSpec, WorkerCommand } from './discovery-worker.js'
import type { NodeRole } from '@fleetmesh/peer'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '50,100' },
    workers: { type: 'string', default: '4' },
    lookups: { type: 'string', default: '100' },
    messages: { type: 'string', default: '20' },
    'lookup-timeout': { type: 'string', default: '5000' }
  }
})
const REGIONS = ['u33d', 'u33e', 'u33f', 'gcpv']

async function measure (size: number, workerCount: number): Promise<Record<string, unknown>> {
  const keys = await createFleetKeys()
  const stationCount = Math.max(2, Math.round(size / 10))
  const specs: BenchNodeSpec[] = []
  for (let i = 0; i < size; i++) {
    const role: NodeRole = i < stationCount ? 'station' : 'vehicle'
    const region = REGIONS[i % REGIONS.length] as string
    const { key, certificate } = serializeIdentity(await createTestIdentity(keys.authority, { role, region }), keys)
    specs.push({ role, region, key, certificate, listen: loopbackListen() })
  }
  const { swarmKey, authority } = serializeFleetKeys(keys)
  const workers = await Promise.all(Array.from({ length: workerCount }, async () => IpcWorker.fork<WorkerCommand>(new URL('./discovery-worker.js', import.meta.url))))
  const placement: Array<{ worker: IpcWorker<WorkerCommand>, index: number, spec: BenchNodeSpec }> = []
  try {
    const t0 = Date.now()
    // the first station alone, as the bootstrap node
    const first = await workers[0]!.call<{ addrs: string[][] }>({ type: 'start', specs: [specs[0]!], bootstrap: [], swarmKey, authority })
    placement.push({ worker: workers[0]!, index: 0, spec: specs[0]! })
    const bootstrap = first.addrs[0]!
    const shares: BenchNodeSpec[][] = workers.map(() => [])
    specs.slice(1).forEach((s, i) => shares[i % workers.length]!.push(s))
    await Promise.all(workers.map(async (w, wi) => {
      await w.call({ type: 'start', specs: shares[wi]!, bootstrap, swarmKey, authority })
    }))
    workers.forEach((w, wi) => shares[wi]!.forEach((spec, k) => placement.push({ worker: w, index: (wi === 0 ? 1 : 0) + k, spec })))
    const startupMs = Date.now() - t0
    // let the DHT settle: routing tables filled, provider records placed
    await new Promise(resolve => setTimeout(resolve, 5000))

    const lookups = Number(values.lookups)
    const lookupMs: number[] = []
    let ok = 0
    for (let i = 0; i < lookups; i++) {
      const seeker = placement[(i * 7919) % placement.length]!
      const region = REGIONS[(i * 31 + 1) % REGIONS.length] as string
      const r = await seeker.worker.call<{ ok: boolean, ms: number }>({ type: 'lookup', node: seeker.index, region, timeoutMs: Number(values['lookup-timeout']) })
      if (r.ok) { ok++; lookupMs.push(r.ms) }
    }

    const messages = Number(values.messages)
    const toAll: number[] = []
    const perNode: number[] = []
    const reach: number[] = []
    for (let m = 0; m < messages; m++) {
      const publisher = placement[(m * 104729) % placement.length]!
      const msgId = `bench-${size}-${m}-${Math.random()}`
      const { t } = await publisher.worker.call<{ t: number }>({ type: 'publish', node: publisher.index, msgId })
      await new Promise(resolve => setTimeout(resolve, 3000))
      const replies = await Promise.all(workers.map(async w => w.call<{ times: number[], missing: string[] }>({ type: 'received', msgId })))
      const times = replies.flatMap(r => r.times)
      if (process.env.BENCH_DEBUG != null) console.error('missing', replies.flatMap(r => r.missing))
      reach.push(times.length / (size - 1))
      perNode.push(...times.map(x => x - t))
      if (times.length === size - 1) toAll.push(Math.max(...times) - t)
    }

    const rss = await Promise.all(workers.map(async w => w.call<{ rss: number, nodes: number }>({ type: 'rss' })))
    return {
      nodes: size,
      stations: stationCount,
      workerProcesses: workerCount,
      startupMs,
      dht: { findProvidersP50Ms: percentile(lookupMs, 50), findProvidersP99Ms: percentile(lookupMs, 99), successRate: ok / lookups, lookups },
      gossip: {
        toAllP50Ms: percentile(toAll, 50),
        toAllP99Ms: percentile(toAll, 99),
        perNodeP50Ms: percentile(perNode, 50),
        perNodeP99Ms: percentile(perNode, 99),
        reachedAllRate: toAll.length / messages,
        meanReach: reach.reduce((a, b) => a + b, 0) / reach.length,
        messages
      },
      rssPerNodeMB: Math.round(rss.reduce((a, r) => a + r.rss, 0) / size / 1024 / 1024 * 10) / 10
    }
  } finally {
    await Promise.allSettled(workers.map(async w => w.call({ type: 'stop' }, 30_000)))
    for (const w of workers) if (w.child.exitCode == null) w.child.kill('SIGKILL')
  }
}

const results = []
for (const size of String(values.sizes).split(',').map(Number)) {
  results.push(await measure(size, Number(values.workers)))
}
console.log(JSON.stringify({ bench: 'discovery', date: new Date().toISOString(), node: process.version, results }, null, 2))
