import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { issueCertificate, loadOrCreateIdentity } from '@fleetmesh/peer'
import { generateMlp } from '@fleetmesh/runtime'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import { cleanupDirs, createTestFleet, killAll, nodeConfig, runCli, waitUntil } from './utils/fleet.js'
import type { Daemon } from '../src/daemon.js'

/**
 * What the API and the CLI show after real jobs: the newest receipts, the
 * credits and owners of `balance`, job worker rows after the job, the
 * peers' listen addresses and fresh RTTs.
 */
describe('data views after real jobs', function () {
  this.timeout(180_000)
  const daemons: Daemon[] = []
  let requester: Daemon
  let car: Daemon
  let client: ApiClient
  const jobIds: string[] = []

  before(async () => {
    const fleet = await createTestFleet()
    requester = await startDaemon(await nodeConfig(fleet, 'requester', 'station'), { log: () => {}, rttRefreshMs: 300, seriesSampleMs: 200 })
    daemons.push(requester)
    const base = await nodeConfig(fleet, 'car', 'vehicle')
    // the vehicle's certificate names its owner
    const key = await loadOrCreateIdentity(base.dataDir)
    await writeFile(base.certificateFile, await issueCertificate(fleet.authority, { peerId: peerIdFromPrivateKey(key), role: 'vehicle', region: 'u33d', validForMs: 3600_000, owner: 'alice' }))
    car = await startDaemon({ ...base, bootstrap: requester.node.getMultiaddrs().map(String), worker: { ...base.worker, enabled: true }, vehicle: { ...base.vehicle, source: 'scripted' } }, { log: () => {}, seriesSampleMs: 200 })
    daemons.push(car)
    await waitUntil(() => requester.node.peers().length === 1 && car.node.libp2p.services.market.isBidding(), 30_000, 'the requester to admit the bidding vehicle')
    client = new ApiClient({ url: requester.url, token: requester.token })
    const { cid } = await client.uploadModel(generateMlp({ inputs: 8, hidden: [16], outputs: 2, seed: 5 }))
    for (let i = 0; i < 2; i++) {
      const { jobId } = await client.submit({ model: cid, inputs: [{ name: 'x', dtype: 'float32', dims: [8, 8], data: Float32Array.from({ length: 64 }, (_, k) => Math.sin(k + i)) }], mode: 'data', shards: 1, maxPrice: 10 })
      const view = await client.wait(jobId, { intervalMs: 100 })
      assert.equal(view.state, 'done', view.error)
      jobIds.push(jobId)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    await waitUntil(async () => (await client.receipts({ limit: 100 })).length >= 2, 30_000, 'both jobs\' receipts in the ledger')
  })
  after(async () => {
    await killAll()
    await Promise.all(daemons.splice(0).map(async d => d.stop()))
    await cleanupDirs()
  })

  it('receipts --limit N are the newest N, newest first', async () => {
    const all = await client.receipts({ limit: 100 })
    const newest = await client.receipts({ limit: 1 })
    assert.equal(newest.length, 1)
    assert.equal(newest[0]?.jobId, jobIds[1], 'the one receipt is the second (newest) job\'s')
    assert.equal(newest[0]?.finishedAt, Math.max(...all.map(r => Number(r.finishedAt))))
  })

  it('balance shows the credits column and the owners', async () => {
    const r = await runCli(['balance', '--api', requester.url, '--token', requester.token])
    assert.equal(r.code, 0, r.stderr)
    const b = await client.balances()
    const carRow = r.stdout.split('\n').find(l => l.includes(car.node.peerId.toString()))
    assert.ok(carRow != null, r.stdout)
    const credits = b.peers[car.node.peerId.toString()].credits
    assert.ok(credits > 0)
    assert.ok(carRow.split('│').map(c => c.trim()).includes(String(credits)), `the vehicle's row shows its credits ${credits}: ${carRow}`)
    const owner = r.stdout.split('\n').find(l => l.includes('alice'))
    assert.ok(owner?.includes(String(b.owners.alice.credits)), `an owners table with alice: ${r.stdout}`)
  })

  it('a done job\'s worker rows are done, not leased', async () => {
    const view = await client.job(jobIds[0] as string)
    assert.ok(view.workers.length > 0)
    for (const w of view.workers) assert.equal(w.state, 'done', `worker ${w.peerId} of a done job`)
  })

  it('peers show the listen address (not the ephemeral source port) and a fresh RTT', async () => {
    const port = (a: string): string | undefined => multiaddr(a).getComponents().find(c => c.name === 'tcp')?.value
    const listenPorts = car.node.getMultiaddrs().map(a => port(a.toString()))
    const [peer] = await client.peers()
    assert.ok(peer != null)
    assert.ok(listenPorts.includes(port(peer.multiaddrs[0] as string)), `${peer.multiaddrs[0]} is one of the vehicle's listen addresses`)
    await waitUntil(async () => (await client.peers())[0]?.rttAt != null, 10_000, 'a measured RTT')
    const first = (await client.peers())[0]?.rttAt as number
    await waitUntil(async () => ((await client.peers())[0]?.rttAt ?? 0) > first, 10_000, 'the RTT to be measured again')
  })

  it('GET /jobs lists summaries; ?since= gives only the jobs that changed, ?view=full every field', async () => {
    const get = async (path: string): Promise<any> => {
      const res = await fetch(requester.url + path, { headers: { authorization: `Bearer ${requester.token}` } })
      assert.equal(res.status, 200, path)
      return res.json()
    }
    const all = await get('/api/v1/jobs')
    assert.equal(all.total, 2)
    assert.deepEqual(all.jobs.map((j: any) => j.jobId), [...jobIds].reverse(), 'newest first')
    for (const j of all.jobs) {
      assert.equal(j.events, undefined, `summary of ${j.jobId} has no event log`)
      assert.equal(j.workers.done, 1, `summary of ${j.jobId} counts its done lease`)
      assert.equal(j.lastEvent?.type, 'done', `summary of ${j.jobId} has its last event`)
    }
    const full = await get('/api/v1/jobs?view=full')
    assert.ok(Array.isArray(full.jobs[0].events) && full.jobs[0].events.length > 0, 'the full view has the event log')
    assert.ok(JSON.stringify(all).length < JSON.stringify(full).length / 2, 'summaries are well under half the full views')
    const delta = await get(`/api/v1/jobs?since=${all.now as number}`)
    assert.deepEqual(delta.jobs, [], 'nothing changed since the last answer')
    assert.equal(delta.total, 2)
    const res = await fetch(`${requester.url}/api/v1/jobs?since=abc`, { headers: { authorization: `Bearer ${requester.token}` } })
    assert.equal(res.status, 400)
    assert.match((await res.json() as any).error.message, /query parameter "since"/)
  })

  it('the time series has the jobs\' micro-batches, latency quantiles, credits and peers by role; ?since= gives only newer samples', async () => {
    const get = async (d: Daemon, path: string): Promise<any> => (await fetch(d.url + path, { headers: { authorization: `Bearer ${d.token}` } })).json()
    const { samples } = await get(requester, '/api/v1/series')
    assert.ok(samples.length > 1, 'samples every 200 ms')
    const items = samples.reduce((n: number, s: any) => n + s.itemsPerSec * 0.2, 0)
    assert.ok(items > 0, 'items of the jobs were counted')
    assert.ok(samples.some((s: any) => typeof s.latencyP50 === 'number' && s.latencyP99 >= s.latencyP50), 'a sample with micro-batch latency quantiles')
    const last = samples[samples.length - 1]
    assert.deepEqual(last.peers, { vehicle: 1 })
    assert.ok(last.creditsSpent > 0, `the requester spent credits: ${JSON.stringify(last)}`)
    const newer = await get(requester, `/api/v1/series?since=${last.at as number}`)
    assert.ok(newer.samples.every((s: any) => s.at > last.at), 'only samples after since')
    await waitUntil(async () => (await get(car, '/api/v1/series')).samples.some((s: any) => s.creditsEarned > 0), 10_000, 'the vehicle\'s earned credits in its series')
  })

  it('the vehicle lists its own leases with job, state and earnings; owners\' earnings per day name alice', async () => {
    const carClient = new ApiClient({ url: car.url, token: car.token })
    const leases = await (await fetch(`${car.url}/api/v1/leases`, { headers: { authorization: `Bearer ${car.token}` } })).json() as any
    assert.deepEqual(leases.held, [])
    for (const jobId of jobIds) {
      const l = leases.ended.find((e: any) => e.jobId === jobId)
      assert.ok(l != null, `the lease of job ${jobId}: ${JSON.stringify(leases.ended)}`)
      assert.equal(l.state, 'completed', `lease of ${jobId}`)
      assert.equal(l.requester, requester.node.peerId.toString())
      assert.ok(l.credits > 0, `lease of ${jobId} pays credits`)
      assert.equal(l.earned, true, `the receipt of ${jobId}'s lease is countersigned`)
    }
    const { days } = await (await fetch(`${requester.url}/api/v1/earnings/owners`, { headers: { authorization: `Bearer ${requester.token}` } })).json() as any
    const today = new Date().toISOString().slice(0, 10)
    const alice = days.find((d: any) => d.owner === 'alice')
    assert.ok(alice != null, JSON.stringify(days))
    assert.equal(alice.day, today)
    assert.equal(alice.shards, 2)
    assert.equal(alice.credits, (await carClient.balances()).owners.alice.earned)
  })
})
