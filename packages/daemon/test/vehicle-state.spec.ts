import { strict as assert } from 'node:assert'
import { rename, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import { HttpVehicleState, parseVehicleReport } from '../src/vehicle-state.js'
import { removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import type { Daemon } from '../src/daemon.js'
import type { FleetFiles } from '@fleetmesh/test-utils/fleet'

/** Heartbeat interval of these fleets, ms (the market default). */
const HEARTBEAT_MS = 1000

/** Writes a state report the way a telematics bridge should: a temp file renamed over the old one. */
async function writeState (file: string, state: Record<string, unknown>): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(state))
  await rename(`${file}.tmp`, file)
}

/** An HTTP request over a Unix socket. */
async function socketRequest (socketPath: string, method: string, path: string, body?: string): Promise<{ status: number, text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => { text += d }).on('end', () => { resolve({ status: res.statusCode ?? 0, text }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('vehicle state sources', function () {
  this.timeout(120_000)
  let fleet: FleetFiles
  const daemons: Daemon[] = []

  before(async () => { fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-')) })
  afterEach(async () => { await Promise.all(daemons.splice(0).map(async d => d.stop())) })
  after(removeTempDirs)

  /** A requester station and a vehicle worker whose state source `vehicle` configures. */
  async function stationAndVehicle (name: string, vehicle: Partial<Daemon['config']['vehicle']>, availability: Partial<Daemon['config']['worker']['availability']> = {}): Promise<{ station: Daemon, car: Daemon, client: ApiClient }> {
    const station = await startDaemon(await testDaemonConfig(fleet, `${name}-station`, 'station', { market: { heartbeatIntervalMs: HEARTBEAT_MS, bidWindowMs: 400 } }), { log: () => {} })
    daemons.push(station)
    const base = await testDaemonConfig(fleet, `${name}-car`, 'vehicle')
    const car = await startDaemon({
      ...base,
      bootstrap: station.node.getMultiaddrs().map(String),
      market: { heartbeatIntervalMs: HEARTBEAT_MS, bidWindowMs: 400 },
      worker: { ...base.worker, enabled: true, availability: { ...base.worker.availability, ...availability } },
      vehicle: { ...base.vehicle, ...vehicle }
    }, { log: () => {} })
    daemons.push(car)
    await waitUntil(() => station.node.peers().some(p => p.peerId.equals(car.node.peerId)), { timeoutMs: 30_000, intervalMs: 100, message: 'the station to admit the vehicle' })
    return { station, car, client: new ApiClient({ url: car.url, token: car.token }) }
  }

  it('a vehicle whose state file says driving holds no lease within one heartbeat, and says why', async () => {
    const dir = await tempDir('fleetmesh-vehicle-')
    const file = join(dir, 'state.json')
    await writeState(file, { drive: 'parked', soc: 0.8, batteryTempC: 20, at: Date.now() })
    const { station, car, client } = await stationAndVehicle('file', { source: 'file', stateFile: file })
    await waitUntil(() => car.node.libp2p.services.market.isBidding(), { timeoutMs: 20_000, intervalMs: 100, message: 'the parked vehicle to bid' })
    const market = car.node.libp2p.services.market
    // a market-level job: the worker's lease stays held until the job ends (no micro-batch ever comes)
    const job = station.node.libp2p.services.market.submit({ modelCid: 'bafkqaaa', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 60_000 })
    job.catch(() => {})
    await waitUntil(() => market.heldLeases().length === 1, { timeoutMs: 30_000, intervalMs: 100, message: 'the vehicle to hold the lease' })

    await writeState(file, { drive: 'driving', soc: 0.8, batteryTempC: 21, at: Date.now() })
    await waitUntil(() => market.heldLeases().length === 0, { timeoutMs: HEARTBEAT_MS, intervalMs: 100, message: 'the driving vehicle to hand its lease back' })
    const info = await client.info()
    assert.equal(info.vehicle?.source, 'file')
    assert.equal(info.vehicle?.state, 'driving')
    assert.equal(info.vehicle?.bidding, false)
    assert.equal(info.vehicle?.reason, 'driving')
    assert.equal(market.isBidding(), false)
  })

  it('a vehicle whose state source goes silent stops bidding: "state source stale for N s"', async () => {
    const dir = await tempDir('fleetmesh-vehicle-')
    const file = join(dir, 'state.json')
    await writeState(file, { drive: 'charging', soc: 0.6, batteryTempC: 25, at: Date.now() })
    const { car, client } = await stationAndVehicle('stale', { source: 'file', stateFile: file }, { maxStaleMs: 2000 })
    const market = car.node.libp2p.services.market
    await waitUntil(() => market.isBidding(), { timeoutMs: 20_000, intervalMs: 100, message: 'the charging vehicle to bid' })
    await waitUntil(() => !market.isBidding(), { timeoutMs: 15_000, intervalMs: 100, message: 'the vehicle to stop bidding once its source is stale' })
    const info = await client.info()
    assert.equal(info.vehicle?.allowed, false)
    assert.match(info.vehicle?.reason ?? '', /^state source stale for \d+ s$/)
    // a fresh report brings it back
    await writeState(file, { drive: 'charging', soc: 0.6, batteryTempC: 25, at: Date.now() })
    await waitUntil(() => market.isBidding(), { timeoutMs: 10_000, intervalMs: 100, message: 'a fresh report to make it bid again' })
  })

  it('a vehicle worker with no state source never bids; worker.availability applies to every source', async () => {
    const none = await stationAndVehicle('none', {})
    const market = none.car.node.libp2p.services.market
    await new Promise(resolve => setTimeout(resolve, 1500))
    assert.equal(market.isBidding(), false, 'no source: no bids')
    const info = await none.client.info()
    assert.equal(info.vehicle?.source, 'none')
    assert.equal(info.vehicle?.state, 'unknown')
    assert.match(info.vehicle?.reason ?? '', /^state unknown: no state source configured/)

    const dir = await tempDir('fleetmesh-vehicle-')
    const file = join(dir, 'state.json')
    await writeState(file, { drive: 'parked', soc: 0.4, batteryTempC: 20 })
    const low = await stationAndVehicle('low', { source: 'file', stateFile: file }, { minParkedSoc: 0.5 })
    await waitUntil(async () => (await low.client.info()).vehicle?.state === 'parked', { timeoutMs: 10_000, intervalMs: 100, message: 'the file to be read' })
    assert.equal(low.car.node.libp2p.services.market.isBidding(), false)
    assert.equal((await low.client.info()).vehicle?.reason, 'parked, SoC 40% < 50%')
  })

  it('the http source takes reports on a Unix socket (PUT /state) and refuses a bad one with the field named', async () => {
    const dir = await tempDir('fleetmesh-vehicle-')
    const socket = join(dir, 'state.sock')
    const { car, client } = await stationAndVehicle('http', { source: 'http', stateListen: socket })
    const market = car.node.libp2p.services.market
    assert.equal((await client.info()).vehicle?.reason, `state unknown: no report on ${socket} yet`)
    const bad = await socketRequest(socket, 'PUT', '/state', JSON.stringify({ drive: 'flying', soc: 0.5, batteryTempC: 20 }))
    assert.equal(bad.status, 400)
    assert.match(JSON.parse(bad.text).error, /field "drive": expected parked, charging or driving, got "flying"/)
    const ok = await socketRequest(socket, 'PUT', '/state', JSON.stringify({ drive: 'parked', soc: 0.9, batteryTempC: 20 }))
    assert.equal(ok.status, 204)
    await waitUntil(() => market.isBidding(), { timeoutMs: 10_000, intervalMs: 100, message: 'the reported vehicle to bid' })
    const got = await socketRequest(socket, 'GET', '/state')
    assert.equal(JSON.parse(got.text).drive, 'parked')
  })

  it('parses reports strictly and listens on loopback TCP', async () => {
    assert.deepEqual(parseVehicleReport('{"state":"charging","soc":1,"batteryTempC":30,"at":5}'), { state: { drive: 'charging', soc: 1, batteryTempC: 30 }, at: 5 })
    assert.throws(() => parseVehicleReport('{"drive":"parked","soc":1.5,"batteryTempC":30}'), { name: 'VehicleStateError', message: /field "soc": expected a number 0\.\.1, got 1\.5/ })
    assert.throws(() => parseVehicleReport('not json'), { name: 'VehicleStateError', code: 'ERR_VEHICLE_STATE' })
    const source = new HttpVehicleState({ listen: '127.0.0.1:0' })
    await source.start()
    try {
      const res = await fetch(`${source.address()}/state`, { method: 'POST', body: JSON.stringify({ drive: 'driving', soc: 0.5, batteryTempC: 20 }) })
      assert.equal(res.status, 204)
      assert.equal(source.current().drive, 'driving')
      assert.ok(source.current().heardAt != null)
    } finally {
      await source.stop()
    }
  })
})
