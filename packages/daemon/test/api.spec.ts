import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { encodeTensors } from '@fleetmesh/protocol'
import { generateMlp } from '@fleetmesh/runtime'
import { removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { createFleetFiles, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import type { Daemon } from '../src/daemon.js'
import type { FleetFiles } from '@fleetmesh/test-utils/fleet'

async function call (daemon: Daemon, method: string, path: string, init: { token?: string | null, body?: string | Uint8Array, type?: string } = {}): Promise<{ status: number, json: any, text: string, type: string | null }> {
  const headers: Record<string, string> = {}
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? daemon.token}`
  if (init.type != null) headers['content-type'] = init.type
  const res = await fetch(`${daemon.url}${path}`, { method, headers, body: init.body, signal: AbortSignal.timeout(20_000) })
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, json, text, type: res.headers.get('content-type') }
}

describe('local HTTP API', function () {
  this.timeout(60_000)
  let fleet: FleetFiles
  let daemon: Daemon | undefined

  before(async () => {
    fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    daemon = await startDaemon(await testDaemonConfig(fleet, 'station', 'station'), { log: () => {} })
  })
  after(async () => {
    await daemon?.stop()
    await removeTempDirs()
  })

  it('listens on loopback, writes api.json and a 0600 token', async () => {
    const d = daemon as Daemon
    assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(existsSync(join(d.config.dataDir, 'api.json')))
    const { statSync } = await import('node:fs')
    assert.equal(statSync(join(d.config.dataDir, 'api-token')).mode & 0o777, 0o600)
  })

  it('GET / (the dashboard) needs no token; everything else does: 401 JSON on a missing or wrong token', async () => {
    const d = daemon as Daemon
    const page = await call(d, 'GET', '/', { token: null })
    assert.equal(page.status, 200)
    assert.match(page.type ?? '', /text\/html/)
    for (const [method, path] of [['GET', '/api/v1/info'], ['GET', '/api/v1/peers'], ['GET', '/api/v1/jobs'], ['POST', '/api/v1/shutdown'], ['GET', '/metrics'], ['GET', '/api/v1/nope']] as const) {
      const missing = await call(d, method, path, { token: null })
      assert.equal(missing.status, 401, `${method} ${path} without a token`)
      assert.equal(missing.json?.error?.code, 'ERR_UNAUTHORIZED', `${method} ${path}`)
      assert.match(missing.json?.error?.message, /missing API token/)
      const wrong = await call(d, method, path, { token: 'not-the-token' })
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`)
      assert.match(wrong.json?.error?.message, /wrong API token/)
    }
    await assert.rejects(new ApiClient({ url: d.url, token: 'nope' }).info(), { name: 'UnauthorizedError' })
  })

  it('info, peers, jobs, metrics with the token', async () => {
    const d = daemon as Daemon
    const client = new ApiClient({ url: d.url, token: d.token })
    const info = await client.info()
    assert.equal(info.peerId, d.node.peerId.toString())
    assert.equal(info.role, 'station')
    assert.equal(info.region, 'u33d')
    assert.equal(info.worker, false)
    assert.ok(info.multiaddrs.length > 0 && info.uptimeMs >= 0)
    assert.equal(info.dashboardUrl, `${d.url}/#token=${d.token}`)
    assert.deepEqual(await client.peers(), [])
    const jobs = await client.jobs()
    assert.deepEqual({ ...jobs, now: 0 }, { jobs: [], leases: [], forgotten: [], total: 0, now: 0 })
    assert.ok(jobs.now > 0)
    const metrics = await call(d, 'GET', '/metrics')
    assert.equal(metrics.status, 200)
    assert.match(metrics.type ?? '', /text\/plain/)
    for (const name of ['fleetmesh_offers_received_total', 'fleetmesh_bids_total', 'fleetmesh_awards_total', 'fleetmesh_reawards_total', 'fleetmesh_micro_batch_latency_seconds_bucket', 'fleetmesh_infer_bytes_total', 'fleetmesh_ledger_receipts_stored_total', 'fleetmesh_ledger_reconcile_sessions_total', 'fleetmesh_peers', 'fleetmesh_build_info']) {
      assert.ok(metrics.text.includes(name), `metrics have ${name}`)
    }
    assert.match(metrics.text, /^libp2p_/m, 'libp2p\'s own metrics are in the same registry')
  })

  it('bad input is a 400 (or 404/409/415) JSON error naming the problem, and the daemon keeps serving', async () => {
    const d = daemon as Daemon
    const json = 'application/json'
    const model = generateMlp({ inputs: 4, hidden: [8], outputs: 2 })
    const up = await call(d, 'POST', '/api/v1/models', { body: model, type: 'application/octet-stream' })
    assert.equal(up.status, 201, up.text)
    assert.equal(up.json.bytes, model.byteLength)
    const cid: string = up.json.cid
    const inputs = (name: string): string => Buffer.from(encodeTensors([{ name, dtype: 'float32', dims: [2, 4], data: new Float32Array(8) }])).toString('base64')
    const cases: Array<{ what: string, method: string, path: string, body?: string | Uint8Array, type?: string, status: number, code: string, message: RegExp }> = [
      { what: 'malformed JSON', method: 'POST', path: '/api/v1/jobs', body: '{bad', type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /not valid JSON/ },
      { what: 'a JSON array', method: 'POST', path: '/api/v1/jobs', body: '[1]', type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /expected a JSON object/ },
      { what: 'a missing field', method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ model: cid, inputs: inputs('x') }), type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /field "maxPrice"/ },
      { what: 'an unknown field', method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ model: cid, inputs: inputs('x'), maxPrice: 1, colour: 'red' }), type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /unknown field "colour"/ },
      { what: 'a bad mode', method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ model: cid, inputs: inputs('x'), maxPrice: 1, mode: 'both' }), type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /field "mode"/ },
      { what: 'a model that is not a CID', method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ model: 'abc', inputs: inputs('x'), maxPrice: 1 }), type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /field "model": "abc" is not a CID/ },
      { what: 'inputs that are not encoded tensors', method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ model: cid, inputs: 'AAAA', maxPrice: 1 }), type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /field "inputs": not base64 of encodeTensors/ },
      { what: 'an input the model does not take', method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ model: cid, inputs: inputs('y'), maxPrice: 1 }), type: json, status: 400, code: 'ERR_JOB_INPUT', message: /input "y" is not an input of the model/ },
      { what: 'a model that is not ONNX', method: 'POST', path: '/api/v1/models', body: new Uint8Array([1, 2, 3]), type: 'application/octet-stream', status: 400, code: 'ERR_INVALID_MODEL', message: /./ },
      { what: 'a model sent as text', method: 'POST', path: '/api/v1/models', body: 'hello', type: 'text/plain', status: 400, code: 'ERR_BAD_REQUEST', message: /application\/octet-stream/ },
      { what: 'a body of an unsupported type', method: 'POST', path: '/api/v1/jobs', body: 'x', type: 'image/png', status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE', message: /application\/json/ },
      { what: 'an unknown job', method: 'GET', path: '/api/v1/jobs/nope', status: 404, code: 'ERR_JOB_NOT_FOUND', message: /no job nope/ },
      { what: 'the result of an unknown job', method: 'GET', path: '/api/v1/jobs/nope/result', status: 404, code: 'ERR_JOB_NOT_FOUND', message: /no job nope/ },
      { what: 'cancelling an unknown job', method: 'DELETE', path: '/api/v1/jobs/nope', status: 404, code: 'ERR_JOB_NOT_FOUND', message: /no job nope/ },
      { what: 'an unknown route', method: 'GET', path: '/api/v1/nope', status: 404, code: 'ERR_NOT_FOUND', message: /no route GET \/api\/v1\/nope/ },
      { what: 'a bad receipts limit', method: 'GET', path: '/api/v1/receipts?limit=0', status: 400, code: 'ERR_BAD_REQUEST', message: /"limit": expected an integer 1\.\.10000, got "0"/ },
      { what: 'a bad earnings peer', method: 'GET', path: '/api/v1/earnings?peer=bob', status: 400, code: 'ERR_BAD_REQUEST', message: /"peer": "bob" is not a PeerId/ },
      { what: 'a vehicle state on a station', method: 'POST', path: '/api/v1/vehicle', body: JSON.stringify({ state: 'parked' }), type: json, status: 400, code: 'ERR_NOT_SCRIPTED_VEHICLE', message: /not a scripted vehicle/ },
      { what: 'a bad vehicle state', method: 'POST', path: '/api/v1/vehicle', body: JSON.stringify({ state: 'flying' }), type: json, status: 400, code: 'ERR_BAD_REQUEST', message: /field "state"/ }
    ]
    for (const c of cases) {
      const r = await call(d, c.method, c.path, { body: c.body, type: c.type })
      assert.equal(r.status, c.status, `${c.what}: status (${r.text})`)
      assert.equal(r.json?.error?.code, c.code, `${c.what}: code (${r.text})`)
      assert.match(r.json?.error?.message ?? '', c.message, `${c.what}: message`)
    }
    const client = new ApiClient({ url: d.url, token: d.token })
    await assert.rejects(client.job('nope'), (err: any) => err.name === 'ApiError' && err.status === 404 && err.apiCode === 'ERR_JOB_NOT_FOUND')
    assert.equal((await client.info()).peerId, d.node.peerId.toString(), 'still serving')
    assert.deepEqual((await client.jobs()).jobs, [], 'no job was started by bad input')
  })

  it('receipts, balances and earnings from the ledger, JSON-safe', async () => {
    const client = new ApiClient({ url: (daemon as Daemon).url, token: (daemon as Daemon).token })
    assert.deepEqual(await client.receipts({ limit: 5 }), [])
    const b = await client.balances()
    assert.equal(b.receipts, 0)
    const e = await client.earnings()
    assert.equal(e.worker, (daemon as Daemon).node.peerId.toString())
  })
})

describe('several daemons in one process; scripted vehicle; shutdown', function () {
  this.timeout(60_000)
  const daemons: Daemon[] = []
  after(async () => {
    await Promise.all(daemons.map(async d => d.stop()))
    await removeTempDirs()
  })

  it('each has its own metrics registry; a scripted vehicle takes its state from the API; POST /shutdown stops the daemon', async () => {
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    const station = await startDaemon(await testDaemonConfig(fleet, 'station', 'station'), { log: () => {} })
    daemons.push(station)
    const vehicle = await startDaemon(await testDaemonConfig(fleet, 'vehicle', 'vehicle', {
      bootstrap: station.node.getMultiaddrs().map(String),
      vehicle: { scripted: true, state: 'driving', soc: 0.9, batteryTempC: 20 },
      worker: { enabled: true, pricePerUnit: 1, loadFactor: 0.5, maxLeases: 2, availability: { whileCharging: true, whileParked: true, minParkedSoc: 0.5, minChargingSoc: 0, maxBatteryTempC: 45 } }
    }), { log: () => {} })
    daemons.push(vehicle)
    for (const d of daemons) {
      const m = await new ApiClient({ url: d.url, token: d.token }).metrics()
      assert.match(m, /fleetmesh_peers/, `${d.config.role} serves its metrics`)
    }
    const client = new ApiClient({ url: vehicle.url, token: vehicle.token })
    let info = await client.info()
    assert.deepEqual({ state: info.vehicle?.state, soc: info.vehicle?.soc, bidding: info.vehicle?.bidding }, { state: 'driving', soc: 0.9, bidding: false })
    const set = await client.setVehicle({ state: 'charging', soc: 0.4 })
    assert.deepEqual(set, { state: 'charging', soc: 0.4, batteryTempC: 20 })
    info = await client.info()
    assert.equal(info.vehicle?.state, 'charging')
    assert.equal(info.vehicle?.bidding, true, 'charging with the default policy: the vehicle bids')

    await client.shutdown()
    await Promise.race([vehicle.closed, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the daemon did not stop within 15 s')) }, 15_000))])
    assert.ok(!existsSync(join(vehicle.config.dataDir, 'api.json')), 'api.json removed')
    await assert.rejects(client.info(), { name: 'DaemonNotRunningError' })
    await assert.rejects(ApiClient.fromDataDir(vehicle.config.dataDir), { name: 'DaemonNotRunningError' })
  })
})
