import assert from 'node:assert/strict'
import { ADMISSION_PROTOCOL, AdmissionHello, AdmissionResult, bidsTopic, offersTopic, PRESENCE_TOPIC } from '@fleetmesh/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pbStream } from '@libp2p/utils'
import { ScriptedVehicleState } from '@fleetmesh/market'
import { createTestMesh, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { roleProfile } from '../src/role-profile.js'
import { createRawNode } from './utils/raw-node.js'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode } from '../src/index.js'

/** The mesh peers of a topic: the gossipsub class has getMeshPeers, its interface does not name it. */
function meshPeers (node: MeshNode, topic: string): string[] {
  return (node.libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic)
}

/**
 * Counts the timer fires of everything created from now until `stop()`,
 * by call site (the first two frames outside node's own code), while `counting`
 * is on. Wraps setTimeout and setInterval; restores them on `stop()`.
 */
function timerCensus (): { start: () => void, end: () => Map<string, number>, stop: () => void } {
  const fires = new Map<string, number>()
  let counting = false
  const site = (): string => {
    const frames = (new Error().stack ?? '').split('\n').slice(3).map(l => l.trim())
    const i = frames.findIndex(l => !l.includes('node:internal'))
    return i < 0 ? '?' : frames.slice(i, i + 2).join(' < ')
  }
  const g = globalThis as any
  const original = { setTimeout: g.setTimeout, setInterval: g.setInterval }
  for (const name of ['setTimeout', 'setInterval'] as const) {
    g[name] = function (fn: (...a: any[]) => unknown, ms?: number, ...args: any[]) {
      const at = site()
      return original[name](function (this: unknown, ...a: any[]) {
        // (the test's own waits are not the nodes')
        if (counting && !at.includes('/test/')) fires.set(at, (fires.get(at) ?? 0) + 1)
        return fn.apply(this, a)
      }, ms, ...args)
    }
  }
  return {
    start: () => { fires.clear(); counting = true },
    end: () => { counting = false; return new Map(fires) },
    stop: () => { g.setTimeout = original.setTimeout; g.setInterval = original.setInterval }
  }
}

/** Busy-waits `ms` on this thread: every node of the process stalls, as a node starting up or under a burst of work does. */
function stallEventLoop (ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* stalled */ }
}

describe('role footprint (lean nodes)', function () {
  describe('roleProfile', () => {
    it('gives both roles a mesh degree gossipsub accepts and vehicles a smaller footprint than stations', () => {
      for (const role of ['station', 'vehicle'] as const) {
        const { gossip, maxConnections, connectionMonitorIntervalMs } = roleProfile(role)
        assert.ok(gossip.Dlo <= gossip.D && gossip.D <= gossip.Dhi, `${role}: Dlo ≤ D ≤ Dhi (${gossip.Dlo}, ${gossip.D}, ${gossip.Dhi})`)
        assert.ok(gossip.Dout < gossip.Dlo && gossip.Dout <= gossip.D / 2, `${role}: Dout < Dlo and Dout ≤ D/2 (${gossip.Dout})`)
        assert.ok(maxConnections > gossip.Dhi || role === 'vehicle', `${role}: room for a full mesh`)
        assert.ok(connectionMonitorIntervalMs >= 10_000, `${role}: connections pinged no more often than libp2p's default`)
      }
      const station = roleProfile('station')
      const vehicle = roleProfile('vehicle')
      assert.ok(vehicle.maxConnections < station.maxConnections)
      assert.ok(vehicle.gossip.D < station.gossip.D)
      // a station takes the grafts of more vehicles than gossipsub's default Dhi (12)
      assert.ok(station.gossip.Dhi > 12)
    })
  })

  describe('in a mesh', function () {
    this.timeout(120_000)
    let mesh: TestMesh
    beforeEach(async () => { mesh = await createTestMesh() })
    afterEach(async () => { await mesh.stop(); await removeTempDirs() })

    it('a station keeps every vehicle that grafts it in its mesh, past gossipsub\'s default Dhi of 12', async () => {
      const station = await mesh.add('station', 'u33d')
      const boot = station.getMultiaddrs().map(String)
      const vehicles: MeshNode[] = []
      for (let i = 0; i < 14; i++) vehicles.push(await mesh.add('vehicle', 'u33d', { bootstrap: boot }))
      for (const n of [station, ...vehicles]) n.subscribe(PRESENCE_TOPIC, () => {})
      // the vehicles graft their only peer; the station prunes above Dhi on its heartbeat (1 s)
      await waitUntil(() => vehicles.every(v => meshPeers(v, PRESENCE_TOPIC).length === 1), { timeoutMs: 30_000, message: 'every vehicle grafted the station' })
      await new Promise(resolve => setTimeout(resolve, 3000))
      assert.equal(meshPeers(station, PRESENCE_TOPIC).length, 14, 'the station\'s mesh holds all 14 vehicles')
      for (const [i, v] of vehicles.entries()) assert.equal(meshPeers(v, PRESENCE_TOPIC).length, 1, `vehicle ${i} is still in the station's mesh`)
    })

    it('a vehicle whose event loop stalls past the admission timeout right after dialling is still admitted, and admits its station', async () => {
      const station = await mesh.add('station', 'u33d')
      const vehicle = await mesh.add('vehicle', 'u33d')
      await vehicle.libp2p.dial(station.getMultiaddrs()[0] as any)
      // both nodes share this thread: their admission timers (600 ms) fire late, before the certificates are read
      stallEventLoop(1500)
      await waitUntil(() => vehicle.isAdmitted(station.peerId) && station.isAdmitted(vehicle.peerId), { timeoutMs: 10_000, message: 'both admitted' })
      assert.deepEqual(vehicle.refusals().map(r => r.code), [], 'the vehicle refused nobody')
      assert.deepEqual(station.refusals().map(r => r.code), [], 'the station refused nobody')
    })

    it('a vehicle admits a station it dialled that answers after 1.5 s (busy verifying others), past the 600 ms cut of silent peers that dial in', async () => {
      const privateKey = await generateKeyPair('Ed25519')
      const { certificate } = await mesh.identity('station', 'u33d', { privateKey })
      const slow = await createRawNode(mesh.swarmKey, { privateKey })
      try {
        await slow.handle(ADMISSION_PROTOCOL, async (stream, connection) => {
          const pb = pbStream(stream)
          await pb.read(AdmissionHello)
          await new Promise(resolve => setTimeout(resolve, 1500))
          await pb.write({ accepted: true, code: '' }, AdmissionResult).catch(() => {})
          await stream.close().catch(() => {})
          // then its own certificate, as a fleetmesh station does once it admitted the dialler
          const own = pbStream(await connection.newStream(ADMISSION_PROTOCOL, { signal: AbortSignal.timeout(5000) }))
          await own.write({ certificate: certificate as Uint8Array<ArrayBuffer> }, AdmissionHello)
          await own.read(AdmissionResult, { signal: AbortSignal.timeout(5000) }).catch(() => {})
        })
        const vehicle = await mesh.add('vehicle', 'u33d')
        const cert = await vehicle.connect(slow.getMultiaddrs()[0] as any)
        assert.equal(cert.role, 'station')
        assert.deepEqual(vehicle.refusals().map(r => r.code), [], 'the vehicle refused nobody')
      } finally {
        await slow.stop()
      }
    })

    it('an idle mesh of workers keeps no market, ledger or bootstrap round running, and fires at most 4 timers per node and second', async () => {
      // each timer fire wakes the process: at 100 nodes on one machine the idle rounds were most of an idle node's CPU
      const census = timerCensus()
      try {
        const station = await mesh.add('station', 'u33d', { dataDir: await tempDir('fleetmesh-footprint-'), worker: true })
        const boot = station.getMultiaddrs().map(String)
        const vehicles: MeshNode[] = []
        for (let i = 0; i < 3; i++) {
          vehicles.push(await mesh.add('vehicle', 'u33d', {
            bootstrap: boot,
            dataDir: await tempDir('fleetmesh-footprint-'),
            worker: { vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) }
          }))
        }
        await waitUntil(() => vehicles.every(v => v.isAdmitted(station.peerId) && station.isAdmitted(v.peerId)), { timeoutMs: 15_000, message: 'every vehicle admitted both ways' })
        // past start-up: the first DHT self-query, announcements, the first reconciliation rounds
        await new Promise(resolve => setTimeout(resolve, 4000))
        const windowMs = 4000
        census.start()
        await new Promise(resolve => setTimeout(resolve, windowMs))
        const fires = census.end()
        const total = [...fires.values()].reduce((a, b) => a + b, 0)
        const perNodeSecond = total / 4 / (windowMs / 1000)
        const listing = [...fires].sort((a, b) => b[1] - a[1]).map(([at, n]) => `${n} ${at}`).join('\n')
        const rounds = [...fires.keys()].filter(at => /DemandTimer|Market(Worker|Requester)|Settlements|scheduleBootstrap|sweepRefusals|admission\.start/.test(at))
        assert.deepEqual(rounds, [], `rounds with nothing to do fired:\n${listing}`)
        assert.ok(perNodeSecond <= 4, `${perNodeSecond.toFixed(2)} timer fires per node and second:\n${listing}`)
      } finally {
        census.stop()
      }
    })

    it('a node that answered pings leaves no timeout behind: nothing fires on a ping stream after it ended', async () => {
      // every answered ping (connection monitor, DHT, findPeers) used to leave a timer that fired 10 s later and reset the closed stream
      const g = AbortSignal as unknown as { timeout: (ms: number) => AbortSignal }
      const original = g.timeout
      let fired = 0
      let armed = 0
      g.timeout = (ms: number): AbortSignal => {
        const signal = original.call(AbortSignal, ms)
        if ((new Error().stack ?? '').includes('/@libp2p/ping/')) {
          armed++
          signal.addEventListener('abort', () => { fired++ })
        }
        return signal
      }
      try {
        const station = await mesh.add('station', 'u33d')
        const vehicle = await mesh.add('vehicle', 'u33d', { bootstrap: station.getMultiaddrs().map(String) })
        await waitUntil(() => vehicle.isAdmitted(station.peerId) && station.isAdmitted(vehicle.peerId), { timeoutMs: 15_000, message: 'admitted both ways' })
        const pings = 20
        for (let i = 0; i < pings; i++) {
          const rtt = await station.libp2p.services.ping.ping(vehicle.peerId)
          assert.ok(rtt >= 0 && rtt < 5000, `ping ${i}: ${rtt} ms`)
          await vehicle.libp2p.services.ping.ping(station.peerId)
        }
        // past the ping timeout (10 s) of the last one answered
        await new Promise(resolve => setTimeout(resolve, 10_500))
        assert.equal(fired, 0, `${fired} of ${armed} timeouts armed by the ping service fired after ${2 * pings} answered pings`)
        assert.ok(vehicle.isAdmitted(station.peerId), 'the connection is still up')
      } finally {
        g.timeout = original
      }
    })

    it('a vehicle worker joins only its own region\'s offers topic (stations carry the bids)', async () => {
      const station = await mesh.add('station', 'u33d', { dataDir: await tempDir('fleetmesh-footprint-'), worker: true })
      const vehicle = await mesh.add('vehicle', 'u33e', {
        bootstrap: station.getMultiaddrs().map(String),
        dataDir: await tempDir('fleetmesh-footprint-'),
        worker: { vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) }
      })
      await waitUntil(() => vehicle.isAdmitted(station.peerId), { timeoutMs: 15_000, message: 'vehicle admitted' })
      const topics = vehicle.libp2p.services.pubsub.getTopics()
      assert.ok(topics.includes(offersTopic('u33e')), `the vehicle serves its region: ${topics.join(', ')}`)
      assert.ok(!topics.includes(bidsTopic('u33e')), 'an idle vehicle worker only sends its bids; it does not carry its region\'s')
      const regionTopics = topics.filter(t => /\/(offers|bids)\//.test(t))
      assert.deepEqual(regionTopics, [offersTopic('u33e')], 'no other region\'s market topics')
    })
  })
})
