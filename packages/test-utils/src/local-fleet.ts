import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiClient } from '@fleetmesh/daemon'
import { trackChild } from './children.js'
import { FLEET_CERTIFICATE_VALID_MS, FLEET_READY_TIMEOUT_MS, FLEET_STOP_TIMEOUT_MS, GOSSIP_SETTLE_MS } from './constants.js'
import { FLEETMESH_BIN } from './cli.js'
import { createDaemonIdentity, createFleetFiles, loopbackDaemonConfig, shareGrants } from './daemon-files.js'
import { FleetStartError } from './errors.js'
import { delay } from './wait.js'
import type { DaemonIdentity } from './daemon-files.js'
import type { FleetAuthority, NodeRole } from '@fleetmesh/peer'
import type { ChildProcess } from 'node:child_process'

/**
 * A local fleet of `fleetmesh daemon` processes on 127.0.0.0/8, started
 * from a list of nodes: `npm run testnet` and the end-to-end tests.
 */

/** One node of a local fleet. */
export interface FleetNodeSpec {
  /** unique, used for the data directory, e.g. `station-1` */
  name: string
  role: NodeRole
  /** geohash prefix, e.g. `u33d` */
  region: string
  /** bid on offers and run shards */
  worker: boolean
  /** vehicles: initial scripted state (set later through `POST /api/v1/vehicle`) */
  vehicle?: { state: 'parked' | 'charging' | 'driving', soc: number }
  /** vehicles: owner account named in the certificate (earnings roll up per owner) */
  owner?: string
  /** asking price, credits per compute unit @default 1 */
  pricePerUnit?: number
  /**
   * names of nodes started before this one whose addresses join its
   * bootstrap list (a gateway that submits jobs to another region needs
   * peers there: gossip travels only through a topic's subscribers)
   */
  connectTo?: string[]
}

/** Options of {@link startLocalFleet}. */
export interface LocalFleetInit {
  nodes: FleetNodeSpec[]
  /** directory for every node's data and logs, kept by `stop` and on failure (for a post-mortem); a fresh temporary directory if omitted, removed by `stop` and on failure */
  root?: string
  /** how long a daemon may take to start and find its peers, ms @default FLEET_READY_TIMEOUT_MS (60000) */
  readyTimeoutMs?: number
  /** bid window of every daemon's market, ms @default 500 */
  bidWindowMs?: number
}

/** A running daemon of a local fleet. */
export interface FleetDaemon extends FleetNodeSpec {
  peerId: string
  dataDir: string
  /** its stdout and stderr */
  logFile: string
  client: ApiClient
  child: ChildProcess
  /** resolves with the exit code (null after a signal) */
  exited: Promise<number | null>
}

/** A running local fleet. */
export interface LocalFleet {
  root: string
  authority: FleetAuthority
  daemons: FleetDaemon[]
  /** the daemon with this PeerId (string) */
  byPeer(peerId: string): FleetDaemon | undefined
  /** the daemon with this name @throws Error if there is none */
  get(name: string): FleetDaemon
  /**
   * SIGTERM to every daemon (they drain and exit), SIGKILL after
   * FLEET_STOP_TIMEOUT_MS (15 s); then the data directory is removed
   * unless `keep` (default: kept when the caller chose `root`).
   *
   * @returns each daemon's exit code (null if it had to be killed)
   */
  stop(options?: { keep?: boolean }): Promise<Array<{ name: string, code: number | null }>>
}

async function logTail (file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** A daemon's TCP multiaddrs other nodes can bootstrap from (no relayed addresses). */
async function tcpAddrs (client: ApiClient): Promise<string[]> {
  return (await client.info()).multiaddrs.filter(a => a.includes('/tcp/') && !a.includes('/p2p-circuit'))
}

/**
 * Starts a local fleet: every node certified by one fleet authority and
 * funded by it (a credit grant of TEST_GRANT_CREDITS in its
 * `<dataDir>/grants/`, see `createDaemonIdentity`); the first station is
 * every other node's bootstrap node; it starts first, the others one after another. Resolves once every
 * daemon answers on its API, the first station has admitted every other
 * node, every node has an admitted peer, and GOSSIP_SETTLE_MS have passed.
 *
 * @throws FleetStartError (after stopping what it started) if there is no station, or a daemon exits or is not ready in time
 */
export async function startLocalFleet (init: LocalFleetInit): Promise<LocalFleet> {
  const first = init.nodes.find(n => n.role === 'station')
  if (first == null) throw new FleetStartError('a local fleet needs at least one station (the bootstrap node)')
  const files = await createFleetFiles(init.root ?? await mkdtemp(join(tmpdir(), 'fleetmesh-testnet-')))
  const root = files.root
  const readyTimeoutMs = init.readyTimeoutMs ?? FLEET_READY_TIMEOUT_MS
  const daemons: FleetDaemon[] = []

  const stop = async (options: { keep?: boolean } = { keep: init.root != null }): Promise<Array<{ name: string, code: number | null }>> => {
    const codes = await Promise.all(daemons.map(async d => {
      if (d.child.exitCode == null && d.child.signalCode == null) d.child.kill('SIGTERM')
      const timer = setTimeout(() => { d.child.kill('SIGKILL') }, FLEET_STOP_TIMEOUT_MS)
      const code = await d.exited
      clearTimeout(timer)
      return { name: d.name, code }
    }))
    if (options.keep !== true) await rm(root, { recursive: true, force: true })
    return codes
  }

  // every identity (and its grant) first, so each daemon starts knowing every node's grant: a worker never refuses a funded requester for want of gossip
  const identities = new Map<string, DaemonIdentity>()
  for (const spec of init.nodes) identities.set(spec.name, await createDaemonIdentity(files, { name: spec.name, role: spec.role, region: spec.region, owner: spec.owner ?? '', validForMs: FLEET_CERTIFICATE_VALID_MS }))
  await shareGrants([...identities.values()])

  const launch = async (spec: FleetNodeSpec, bootstrap: string[]): Promise<FleetDaemon> => {
    const identity = identities.get(spec.name) as DaemonIdentity
    const config = {
      ...loopbackDaemonConfig(files, identity, { role: spec.role, region: spec.region, bootstrap, bidWindowMs: init.bidWindowMs }),
      worker: { enabled: spec.worker, pricePerUnit: spec.pricePerUnit ?? 1 },
      ...(spec.role === 'vehicle' ? { vehicle: { scripted: true, state: spec.vehicle?.state ?? 'parked', soc: spec.vehicle?.soc ?? 0.8 } } : {})
    }
    const { dataDir } = identity
    const configFile = join(dataDir, 'config.json')
    await writeFile(configFile, JSON.stringify(config, null, 2))
    const logFile = join(dataDir, 'daemon.log')
    const fd = openSync(logFile, 'a')
    const child = trackChild(spawn(process.execPath, [FLEETMESH_BIN, 'daemon', '--config', configFile], { stdio: ['ignore', fd, fd] }))
    closeSync(fd)
    const exited = new Promise<number | null>(resolve => { child.once('exit', (code) => { resolve(code) }) })
    const daemon: FleetDaemon = { ...spec, peerId: identity.peerId, dataDir, logFile, child, exited, client: undefined as unknown as ApiClient }
    daemons.push(daemon)
    const deadline = Date.now() + readyTimeoutMs
    while (true) {
      if (child.exitCode != null || child.signalCode != null) throw new FleetStartError(`${spec.name} exited (${child.exitCode ?? child.signalCode}) while starting:\n${await logTail(logFile)}`)
      try {
        daemon.client = await ApiClient.fromDataDir(dataDir, { timeoutMs: 120_000 })
        await daemon.client.info()
        return daemon
      } catch {}
      if (Date.now() > deadline) throw new FleetStartError(`${spec.name} did not answer on its API within ${readyTimeoutMs} ms:\n${await logTail(logFile)}`)
      await delay(100)
    }
  }

  try {
    const boot = await launch(first, [])
    const bootstrap = await tcpAddrs(boot.client)
    // one after another: nine Node.js processes booting at once on two cores can miss the 3 s admission timeout
    for (const spec of init.nodes.filter(n => n !== first)) {
      const extra: string[] = []
      for (const name of spec.connectTo ?? []) {
        const d = daemons.find(x => x.name === name)
        if (d != null) extra.push(...await tcpAddrs(d.client))
      }
      await launch(spec, [...bootstrap, ...extra])
    }
    const deadline = Date.now() + readyTimeoutMs
    while ((await boot.client.peers()).length < daemons.length - 1) {
      if (Date.now() > deadline) throw new FleetStartError(`${first.name} admitted ${(await boot.client.peers()).length} of ${daemons.length - 1} nodes within ${readyTimeoutMs} ms`)
      await delay(200)
    }
    for (const d of daemons) {
      while ((await d.client.peers()).length === 0) {
        if (Date.now() > deadline) throw new FleetStartError(`${d.name} has no admitted peer within ${readyTimeoutMs} ms:\n${await logTail(d.logFile)}`)
        await delay(200)
      }
    }
    // gossipsub grafts topic meshes on its 1 s heartbeat: give offers and bids two rounds to find every subscriber
    await delay(GOSSIP_SETTLE_MS)
  } catch (err) {
    // a caller-chosen root keeps its logs for a post-mortem
    await stop()
    throw err
  }

  return {
    root,
    authority: files.authority,
    daemons,
    byPeer: (peerId) => daemons.find(d => d.peerId === peerId),
    get: (name) => {
      const d = daemons.find(x => x.name === name)
      if (d == null) throw new Error(`no daemon named ${name}`)
      return d
    },
    stop
  }
}
