import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { issueCertificate, loadOrCreateIdentity } from '@fleetmesh/peer'
import { generateMlp } from '@fleetmesh/runtime'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import { killChildProcesses, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
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
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    requester = await startDaemon(await testDaemonConfig(fleet, 'requester', 'station'), { log: () => {}, rttRefreshMs: 300 })
    daemons.push(requester)
    const base = await testDaemonConfig(fleet, 'car', 'vehicle')
    // the vehicle's certificate names its owner
    const key = await loadOrCreateIdentity(base.dataDir)
    await writeFile(base.certificateFile, await issueCertificate(fleet.authority, { peerId: peerIdFromPrivateKey(key), role: 'vehicle', region: 'u33d', validForMs: 3600_000, owner: 'alice' }))
    car = await startDaemon({ ...base, bootstrap: requester.node.getMultiaddrs().map(String), worker: { ...base.worker, enabled: true }, vehicle: { ...base.vehicle, source: 'scripted' } }, { log: () => {} })
    daemons.push(car)
    await waitUntil(() => requester.node.peers().length === 1 && car.node.libp2p.services.market.isBidding(), { timeoutMs: 30_000, intervalMs: 100, message: 'the requester to admit the bidding vehicle' })
    client = new ApiClient({ url: requester.url, token: requester.token })
    const { cid } = await client.uploadModel(generateMlp({ inputs: 8, hidden: [16], outputs: 2, seed: 5 }))
    for (let i = 0; i < 2; i++) {
      const { jobId } = await client.submit({ model: cid, inputs: [{ name: 'x', dtype: 'float32', dims: [8, 8], data: Float32Array.from({ length: 64 }, (_, k) => Math.sin(k + i)) }], mode: 'data', shards: 1, maxPrice: 10 })
      const view = await client.wait(jobId, { intervalMs: 100 })
      assert.equal(view.state, 'done', view.error)
      jobIds.push(jobId)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    await waitUntil(async () => (await client.receipts({ limit: 100 })).length >= 2, { timeoutMs: 30_000, intervalMs: 100, message: 'both jobs\' receipts in the ledger' })
  })
  after(async () => {
    await killChildProcesses()
    await Promise.all(daemons.splice(0).map(async d => d.stop()))
    await removeTempDirs()
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
    await waitUntil(async () => (await client.peers())[0]?.rttAt != null, { timeoutMs: 10_000, intervalMs: 100, message: 'a measured RTT' })
    const first = (await client.peers())[0]?.rttAt as number
    await waitUntil(async () => ((await client.peers())[0]?.rttAt ?? 0) > first, { timeoutMs: 10_000, intervalMs: 100, message: 'the RTT to be measured again' })
  })
})
