/**
 * The simulator's CPU per gossip message, measured: real nodes (libp2p on
 * 127.x.y.z, fleetmesh's gossipsub settings) in this process, one station
 * publishing to `receivers` vehicles connected to it, each message
 * signed, sent over noise and yamux, decoded, de-duplicated, its signature
 * verified and delivered at every receiver. The process CPU time
 * (`process.cpuUsage`, user + system) over the publishing, less the same
 * nodes' idle CPU over as long, divided by the copies delivered, is the
 * CPU of one message at one node (its receipt and validation, and its
 * share of a send): the simulator's `processingMs` on an idle core. CPU
 * time, not wall time: a loaded machine slows the wall clock of a run, not
 * the CPU it takes.
 *
 * Then the same for ledger entries: the station adds credit grants, each
 * gossiped on the receipts topic and taken by every receiver's ledger
 * (decoded, its signature checked, stored): the CPU of one ledger entry
 * at one node. A grant carries one signature, a receipt two (the worker's
 * and the requester's countersignature): a lower bound for a receipt.
 * And a market message's own check: opening its signed envelope (the
 * market's topic validator; the certificate comes from its cache). And
 * the CPU of a findProviders from a vehicle until its station's answer
 * names a provider (median of 40). And the inference runtime's start that
 * a worker's first lease runs ahead of its accept (`measureRunnerStart`),
 * and a market message's certificate check when the market's certificate
 * cache misses (`measureCertificateCheck`).
 */
import { MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, openEnvelope, sealEnvelope, verifyCertificate } from '@fleetmesh/protocol'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFleetKeys, createTestGrant, createTestIdentity, createTestMesh, delay, loopbackListen, serializeFleetKeys, serializeIdentity, waitUntil } from '@fleetmesh/test-utils'
import { IpcWorker } from './ipc-worker.js'
import { ScaleProbe, startScaleNode, usage } from './scale-node.js'
import type { ScaleFleet, ScaleNodeSpec } from './scale-node.js'
import type { ScaleWorkerCommand } from './scale-worker.js'
import { capabilityCid } from '@fleetmesh/peer'
import { createRuntime, ModelStore } from '@fleetmesh/runtime'
import type { MeshNode } from '@fleetmesh/peer'

const TOPIC = '/fleetmesh/1/sim-cost'

/** The measured CPU of one gossip message at one node, ms, and what it was measured over. */
export interface MessageCost {
  /** CPU per delivered copy, ms */
  cpuMsPerCopy: number
  /** CPU of a findProviders answered by the station, from its start to the first provider, both nodes in this process (its query set-up, the RPC at both ends), ms */
  lookupToFirstMs: number
  /** CPU of opening one signed market envelope (its ed25519 check), on the node's thread, ms: a market message's validation beyond gossipsub's */
  envelopeOpenMs: number
  /** CPU per delivered copy of a ledger entry (a credit grant: gossipsub's checks, then the ledger's decoding, signature check and store), ms */
  entryCpuMsPerCopy: number
  receivers: number
  messages: number
  /** the nodes' idle CPU over the same time, ms (subtracted) */
  idleCpuMs: number
}

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }

/**
 * Starts one station and `receivers` vehicles bootstrapped to it, measures,
 * stops every node.
 *
 * @throws Error if the messages do not all arrive within 60 s
 */
export async function measureMessageCost (options: { receivers?: number, messages?: number } = {}): Promise<MessageCost> {
  const receivers = options.receivers ?? 8
  const messages = options.messages ?? 300
  const mesh = await createTestMesh()
  try {
    const station = await mesh.add('station', 'u33d')
    const bootstrap = station.getMultiaddrs().map(String)
    const nodes: MeshNode[] = []
    for (let i = 0; i < receivers; i++) nodes.push(await mesh.add('vehicle', 'u33d', { bootstrap }))
    await waitUntil(() => nodes.every(n => n.peers().length > 0), { timeoutMs: 60_000, message: 'every vehicle admitted' })
    let delivered = 0
    station.libp2p.services.pubsub.subscribe(TOPIC)
    for (const n of nodes) {
      n.libp2p.services.pubsub.subscribe(TOPIC)
      n.libp2p.services.pubsub.addEventListener('message', (e: any) => { if (e.detail.topic === TOPIC) delivered++ })
    }
    await delay(3000) // heartbeats graft the mesh
    const data = new Uint8Array(100).fill(7)
    const c0 = cpuMs()
    const t0 = performance.now()
    for (let m = 0; m < messages; m++) {
      data[0] = m & 0xff; data[1] = m >> 8
      await station.libp2p.services.pubsub.publish(TOPIC, data.slice())
      if (m % 20 === 19) await waitUntil(() => delivered >= (m + 1) * receivers, { timeoutMs: 60_000, message: `message ${m} at every receiver` })
    }
    await waitUntil(() => delivered >= messages * receivers, { timeoutMs: 60_000, message: 'every message at every receiver' })
    const busy = cpuMs() - c0
    const wall = performance.now() - t0
    const i0 = cpuMs()
    await delay(wall)
    const idle = cpuMs() - i0

    // ledger entries: the station adds credit grants (each its own entry: a distinct expiry), every receiver's ledger takes them from gossip
    const entries = Math.max(20, Math.round(messages / 3))
    const grants: Uint8Array[] = []
    for (let k = 0; k < entries; k++) grants.push(await createTestGrant(mesh.authority, station.peerId.toString(), { credits: 1, validForMs: 3_600_000 + k }))
    let held = 0
    for (const n of nodes) n.ledger.addEventListener('entry', () => { held++ })
    const e0 = cpuMs()
    const et0 = performance.now()
    for (let k = 0; k < entries; k++) {
      await station.ledger.add(grants[k] as Uint8Array)
      if (k % 10 === 9) await waitUntil(() => held >= (k + 1) * receivers, { timeoutMs: 60_000, message: `entry ${k} at every receiver` })
    }
    await waitUntil(() => held >= entries * receivers, { timeoutMs: 60_000, message: 'every entry at every receiver' })
    const entryBusy = cpuMs() - e0
    const entryIdle = idle * (performance.now() - et0) / wall

    // a market message's own check: its signed envelope, opened as the market's topic validator opens it (the certificate comes from its cache)
    const { privateKey } = await mesh.identity('vehicle', 'u33d')
    const sealed = await sealEnvelope(privateKey, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, new Uint8Array(200).fill(3))
    const opens = 500
    const o0 = cpuMs()
    for (let k = 0; k < opens; k++) await openEnvelope(sealed, MARKET_DOMAIN, { payloadType: MARKET_PAYLOAD_TYPE })
    const envelopeOpenMs = (cpuMs() - o0) / opens
    // findProviders of the station's region key from the vehicles, CPU from the start to the first provider
    const cid = await capabilityCid('region', 'u33d')
    const toFirst: number[] = []
    for (let k = 0; k < 40; k++) {
      const v = nodes[k % nodes.length] as MeshNode
      const l0 = cpuMs()
      for await (const e of v.libp2p.services.dht.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
        if (e.name === 'PROVIDER' && e.providers.some(p => !p.id.equals(v.peerId))) { toFirst.push(cpuMs() - l0); break }
      }
      await delay(50) // the query's tail, outside the next measurement
    }
    toFirst.sort((a, b) => a - b)
    return {
      cpuMsPerCopy: Math.max(0, busy - idle) / (messages * receivers),
      lookupToFirstMs: toFirst[Math.floor(toFirst.length / 2)] ?? NaN,
      envelopeOpenMs,
      entryCpuMsPerCopy: Math.max(0, entryBusy - entryIdle) / (entries * receivers),
      receivers,
      messages,
      idleCpuMs: idle
    }
  } finally {
    await mesh.stop()
  }
}

/** The CPU of one gossip copy split between its sender and its receiver, ms (each side in its own process). */
export interface CopyCost {
  /** the sender's CPU per copy sent (encoding, noise, yamux; its signature shared over the copies), ms */
  sendMsPerCopy: number
  /** the receiver's CPU per copy (decryption, decoding, de-duplication, the signature check, delivery), ms */
  receiveMsPerCopy: number
  /** a findProviders from a vehicle answered by its station (one DHT RPC on a new stream): the station's CPU and the vehicle's per lookup, ms, and its wall time (median) */
  lookupServerMs: number
  lookupClientMs: number
  lookupWallMs: number
  receivers: number
  messages: number
}

/**
 * One station in this process publishes `messages` presence messages to
 * `receivers` vehicles in a worker process (bench/scale's own node and
 * host code, `startScaleNode` and `scale-worker`): each process's CPU
 * time over the publishing, less its idle CPU over as long, per copy.
 * Then 40 findProviders of the region's key from the vehicles, which the
 * station answers from its own provider records (one RPC): each side's
 * CPU per lookup (the IPC of the probe's command included, a fraction of
 * a millisecond) and the median wall time. Stops the node and the worker.
 */
export async function measureCopyCost (options: { receivers?: number, messages?: number } = {}): Promise<CopyCost> {
  const receivers = options.receivers ?? 8
  const messages = options.messages ?? 300
  const root = await mkdtemp(join(tmpdir(), 'fleetmesh-sim-cost-'))
  const keys = await createFleetKeys()
  const fleet: ScaleFleet = { ...serializeFleetKeys(keys), bidWindowMs: 300, grants: [] }
  const spec = async (role: 'station' | 'vehicle', i: number, bootstrap: string[]): Promise<ScaleNodeSpec> => ({
    role,
    region: 'u33d',
    ...serializeIdentity(await createTestIdentity(keys.authority, { role, region: 'u33d' }), keys),
    listen: loopbackListen(),
    storeDir: join(root, `n${i}`),
    bootstrap
  })
  const probe = new ScaleProbe()
  const worker = await IpcWorker.fork<ScaleWorkerCommand>(new URL('./scale-worker.js', import.meta.url))
  try {
    const station = await startScaleNode(await spec('station', 0, []), fleet, probe)
    const boot = [station.getMultiaddrs().map(String)[0] as string]
    const specs = await Promise.all(Array.from({ length: receivers }, async (_, i) => spec('vehicle', i + 1, boot)))
    await worker.call({ type: 'start', specs, fleet, concurrency: 4 })
    await waitUntil(async () => (await worker.call<{ admitted: number }>({ type: 'ready' })).admitted === receivers, { timeoutMs: 120_000, message: 'every vehicle admitted' })
    await delay(3000) // heartbeats graft the mesh
    const cpuOf = async (): Promise<[number, number]> => [usage().cpuUs / 1000, (await worker.call<{ cpuUs: number }>({ type: 'usage' })).cpuUs / 1000]
    // idle CPU of both processes over a window as long as the publishing takes, measured after it
    const c0 = await cpuOf()
    const t0 = performance.now()
    let last = ''
    for (let m = 0; m < messages; m++) {
      last = `sim-cost-${m}-${Math.random()}`
      await probe.publish(0, last)
      if (m % 20 === 19) {
        const id = last
        await waitUntil(async () => (await worker.call<{ times: number[] }>({ type: 'presence', msgId: id })).times.length >= receivers, { timeoutMs: 60_000, message: `message ${m} at every receiver` })
      }
    }
    await waitUntil(async () => (await worker.call<{ times: number[] }>({ type: 'presence', msgId: last })).times.length >= receivers, { timeoutMs: 60_000, message: 'the last message at every receiver' })
    const c1 = await cpuOf()
    const wall = performance.now() - t0
    await delay(wall)
    const c2 = await cpuOf()
    const copies = messages * receivers
    // DHT lookups of the station's region key from the vehicles (the station holds the record: one RPC each)
    const lookups = 40
    const walls: number[] = []
    const l0 = await cpuOf()
    const lt0 = performance.now()
    for (let k = 0; k < lookups; k++) {
      const r = await worker.call<{ ok: boolean, ms: number }>({ type: 'lookup', node: k % receivers, region: 'u33d', timeoutMs: 10_000 })
      if (r.ok) walls.push(r.ms)
    }
    const l1 = await cpuOf()
    const idleShare = (performance.now() - lt0) / wall
    walls.sort((a, b) => a - b)
    return {
      sendMsPerCopy: Math.max(0, (c1[0] - c0[0]) - (c2[0] - c1[0])) / copies,
      receiveMsPerCopy: Math.max(0, (c1[1] - c0[1]) - (c2[1] - c1[1])) / copies,
      lookupServerMs: Math.max(0, (l1[0] - l0[0]) - idleShare * (c2[0] - c1[0])) / lookups,
      lookupClientMs: Math.max(0, (l1[1] - l0[1]) - idleShare * (c2[1] - c1[1])) / lookups,
      lookupWallMs: walls[Math.floor(walls.length / 2)] ?? NaN,
      receivers,
      messages
    }
  } finally {
    await worker.call({ type: 'stop' }, 60_000).catch(() => {})
    if (worker.child.exitCode == null) worker.child.kill('SIGKILL')
    await probe.stop()
    await rm(root, { recursive: true, force: true })
  }
}

/** The CPU a findProviders takes to its first provider as its routing table grows: each peer in the table is asked at once. */
export interface LookupFanout {
  /** CPU to the first provider (both ends, this process), ms, and the seekers' routing table size, median of 40 lookups each: one station, then `stations` */
  oneStation: { routingTable: number, cpuToFirstMs: number, wallMs: number }
  moreStations: { routingTable: number, cpuToFirstMs: number, wallMs: number }
  /** the CPU each peer more in the table adds before the first provider, ms: the difference over the difference in table size */
  peerMs: number
}

/**
 * How a findProviders' CPU before its first provider grows with the peers
 * it asks. kad-dht splits its start peers (its routing table's closest)
 * over disjoint paths and sends them all at once; the first provider is
 * taken only after the work of all those RPCs (their requests, answers and
 * each answer's providers), so each peer more costs the lookup time. Two
 * meshes in this process: one station and `vehicles` vehicles, then
 * `stations` stations with every vehicle bootstrapped from all of them;
 * 40 lookups of the stations' region key from the vehicles each, CPU from
 * the start to the first provider other than the seeker (less the idle
 * CPU over as long). Stops every node.
 *
 * @throws Error if the vehicles are not admitted by every station within 120 s
 */
export async function measureLookupFanout (options: { stations?: number, vehicles?: number } = {}): Promise<LookupFanout> {
  const vehicleCount = options.vehicles ?? 8
  const run = async (stationCount: number): Promise<LookupFanout['oneStation']> => {
    const mesh = await createTestMesh()
    try {
      const stations: MeshNode[] = []
      for (let i = 0; i < stationCount; i++) stations.push(await mesh.add('station', 'u33d', { bootstrap: i > 0 ? [(stations[0] as MeshNode).getMultiaddrs().map(String)[0] as string] : [] }))
      const bootstrap = stations.map(s => s.getMultiaddrs().map(String)[0] as string)
      const vehicles: MeshNode[] = []
      for (let i = 0; i < vehicleCount; i++) vehicles.push(await mesh.add('vehicle', 'u33d', { bootstrap }))
      await waitUntil(() => vehicles.every(n => n.peers().length >= stationCount), { timeoutMs: 120_000, message: 'every vehicle admitted by every station' })
      await delay(5000) // the routing tables settle
      const cid = await capabilityCid('region', 'u33d')
      const i0 = cpuMs()
      await delay(3000)
      const idlePerMs = (cpuMs() - i0) / 3000
      const cpu: number[] = []; const wall: number[] = []; const table: number[] = []
      for (let k = 0; k < 40; k++) {
        const v = vehicles[k % vehicles.length] as MeshNode
        table.push((v.libp2p.services.dht as { routingTable?: { size: number } }).routingTable?.size ?? 0)
        const c0 = cpuMs(); const w0 = performance.now()
        for await (const e of v.libp2p.services.dht.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
          if (e.name === 'PROVIDER' && e.providers.some(p => !p.id.equals(v.peerId))) break
        }
        const w = performance.now() - w0
        cpu.push(cpuMs() - c0 - idlePerMs * w)
        wall.push(w)
        await delay(300) // the query's tail, outside the next measurement
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN
      return { routingTable: median(table), cpuToFirstMs: median(cpu), wallMs: median(wall) }
    } finally {
      await mesh.stop()
    }
  }
  const oneStation = await run(1)
  const moreStations = await run(options.stations ?? 3)
  const peers = moreStations.routingTable - oneStation.routingTable
  return { oneStation, moreStations, peerMs: peers > 0 ? Math.max(0, moreStations.cpuToFirstMs - oneStation.cpuToFirstMs) / peers : NaN }
}

/** The CPU a worker's first lease takes on its process's thread to start its inference runtime, ms (median of `starts`), and the runner's boot. */
export interface RunnerStart {
  /** CPU of `createRuntime` on the calling thread until it returns (the runner's fork included), median, ms */
  syncCpuMs: number
  /** the same for the process's first runtime (it loads the runtime's modules too), ms */
  firstSyncCpuMs: number
  /** wall time until the runner is ready (its process boots and loads onnxruntime, on the machine's other cores), median, ms */
  readyWallMs: number
  /** the runner process's own CPU, its boot to its exit (this process's reaped children's CPU time, /proc/self/stat), median, ms */
  bootCpuMs: number
  starts: number
}

/**
 * What a worker's first lease costs its process before the worker's
 * accept leaves: the market starts the lease (`setTimeout(runLease, 0)`)
 * while it seals the accept, and the first lease's handler starts the
 * inference runtime (`createRuntime`: one runner process forked, as
 * bench/scale's workers run). The calling thread's CPU time
 * (`process.cpuUsage`) over the synchronous call, for `starts` runtimes
 * started and stopped one after the other in this process after a first
 * one; and the wall time until each runner is ready. Stops every runtime.
 */
export async function measureRunnerStart (options: { starts?: number } = {}): Promise<RunnerStart> {
  const starts = options.starts ?? 7
  const root = await mkdtemp(join(tmpdir(), 'fleetmesh-sim-runner-'))
  const store = await ModelStore.open(join(root, 'store'))
  const sync: number[] = []
  const ready: number[] = []
  const boot: number[] = []
  // reaped children's CPU (cutime + cstime, clock ticks of 10 ms)
  const childrenCpuMs = (): number => { const f = (readFileSync('/proc/self/stat', 'utf8').split(') ')[1] ?? '').split(' '); return (Number(f[13]) + Number(f[14])) * 10 }
  try {
    for (let i = 0; i <= starts; i++) {
      const k0 = childrenCpuMs()
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const starting = createRuntime({ store, runners: 1, intraOpNumThreads: 1 })
      const c1 = process.cpuUsage(c0)
      const runtime = await starting
      ready.push(performance.now() - t0)
      sync.push((c1.user + c1.system) / 1000)
      await runtime.stop()
      // the runner has exited; its CPU shows once it is reaped
      await delay(200)
      boot.push(childrenCpuMs() - k0)
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  return { syncCpuMs: median(sync.slice(1)), firstSyncCpuMs: sync[0] ?? NaN, readyWallMs: median(ready.slice(1)), bootCpuMs: median(boot.slice(1)), starts }
}

/**
 * The CPU of a market message's certificate check when the market's
 * certificate cache misses (a node's first message of a signer):
 * `verifyCertificate` of `certificates` fresh device certificates (the
 * authority's signature, the fields), this thread's CPU time per
 * certificate, ms, after a few to warm up.
 */
export async function measureCertificateCheck (options: { certificates?: number } = {}): Promise<number> {
  const count = options.certificates ?? 200
  const keys = await createFleetKeys()
  const ids = await Promise.all(Array.from({ length: count + 20 }, async () => createTestIdentity(keys.authority, { role: 'vehicle', region: 'u33d' })))
  const trustedAuthorities = [keys.authority.publicKey]
  for (const id of ids.slice(0, 20)) await verifyCertificate(id.certificate, { trustedAuthorities, peerId: id.peerId })
  const c0 = process.cpuUsage()
  for (const id of ids.slice(20)) await verifyCertificate(id.certificate, { trustedAuthorities, peerId: id.peerId })
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000 / count
}
