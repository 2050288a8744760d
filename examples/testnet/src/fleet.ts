/**
 * A local fleet of `fleetmesh daemon` processes on 127.0.0.0/8: one fleet
 * authority, one swarm key, one data directory, identity, certificate and
 * config file per node, every daemon its own process with its own loopback
 * address, reached through its local HTTP API. Used by `npm run testnet`
 * and the end-to-end tests.
 */
import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApiClient } from '@fleetmesh/daemon'
import { createAuthority, exportAuthorityPublicKey, generateSwarmKey, issueCertificate, loadOrCreateIdentity } from '@fleetmesh/peer'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { FleetAuthority, NodeRole } from '@fleetmesh/peer'
import type { ChildProcess } from 'node:child_process'

/** The `fleetmesh` CLI entry of @fleetmesh/daemon. */
export const FLEETMESH_BIN = fileURLToPath(new URL('./bin.js', import.meta.resolve('@fleetmesh/daemon')))

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
  /** directory for every node's data (kept if starting fails); a fresh temporary directory if omitted (removed by `stop` and on failure) */
  root?: string
  /** how long a daemon may take to start and find its peers, ms @default 60000 */
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
   * SIGTERM to every daemon (they drain and exit), SIGKILL after 15 s;
   * then the data directory is removed unless `keep`.
   *
   * @returns each daemon's exit code (null if it had to be killed)
   */
  stop(options?: { keep?: boolean }): Promise<Array<{ name: string, code: number | null }>>
}

/** The error of a daemon that did not come up; its log tail is in the message. */
export class FleetStartError extends Error {
  readonly code = 'ERR_FLEET_START'
  constructor (message: string) {
    super(message)
    this.name = 'FleetStartError'
  }
}

/** Wait after every node is admitted, so gossipsub's topic meshes (1 s heartbeat) include every worker before the first offer, ms. */
export const GOSSIP_SETTLE_MS = 2000

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function logTail (file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/**
 * Starts a local fleet: the first station is every other node's bootstrap
 * node; it starts first, the others one after another. Resolves once every
 * daemon answers on its API, the first station has admitted every other
 * node, every node has an admitted peer, and GOSSIP_SETTLE_MS have passed.
 *
 * @throws FleetStartError (after stopping what it started) if a daemon exits or is not ready in time
 */
export async function startLocalFleet (init: LocalFleetInit): Promise<LocalFleet> {
  const first = init.nodes.find(n => n.role === 'station')
  if (first == null) throw new FleetStartError('a local fleet needs at least one station (the bootstrap node)')
  const root = init.root ?? await mkdtemp(join(tmpdir(), 'fleetmesh-testnet-'))
  await mkdir(root, { recursive: true })
  const readyTimeoutMs = init.readyTimeoutMs ?? 60_000
  const authority = await createAuthority()
  const authorityFile = join(root, 'authority.pub')
  await writeFile(authorityFile, exportAuthorityPublicKey(authority.publicKey))
  const swarmKeyFile = join(root, 'swarm.key')
  await writeFile(swarmKeyFile, generateSwarmKey(), { mode: 0o600 })
  const daemons: FleetDaemon[] = []

  const stop = async (options: { keep?: boolean } = {}): Promise<Array<{ name: string, code: number | null }>> => {
    const codes = await Promise.all(daemons.map(async d => {
      if (d.child.exitCode == null && d.child.signalCode == null) d.child.kill('SIGTERM')
      const timer = setTimeout(() => { d.child.kill('SIGKILL') }, 15_000)
      const code = await d.exited
      clearTimeout(timer)
      return { name: d.name, code }
    }))
    if (options.keep !== true) await rm(root, { recursive: true, force: true })
    return codes
  }

  const launch = async (spec: FleetNodeSpec, index: number, bootstrap: string[]): Promise<FleetDaemon> => {
    const dataDir = join(root, spec.name)
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const key = await loadOrCreateIdentity(dataDir)
    const peerId = peerIdFromPrivateKey(key)
    const certificate = await issueCertificate(authority, { peerId, role: spec.role, region: spec.region, validForMs: 24 * 3600_000, owner: spec.owner ?? '' })
    await writeFile(join(dataDir, 'certificate'), certificate)
    const config = {
      dataDir,
      role: spec.role,
      region: spec.region,
      // every node its own loopback address (all of 127.0.0.0/8 is loopback on Linux)
      listen: [`/ip4/127.0.${spec.role === 'station' ? 10 : 20}.${index + 1}/tcp/0`],
      bootstrap,
      swarmKeyFile,
      authorities: [authorityFile],
      // outbound loopback dials all leave from 127.0.0.1: without this gossipsub's IP-colocation penalty graylists every peer (never on a real fleet)
      gossipIpWhitelist: ['127.0.0.1'],
      api: { host: '127.0.0.1', port: 0 },
      worker: { enabled: spec.worker, pricePerUnit: spec.pricePerUnit ?? 1 },
      ...(spec.role === 'vehicle' ? { vehicle: { scripted: true, state: spec.vehicle?.state ?? 'parked', soc: spec.vehicle?.soc ?? 0.8 } } : {}),
      inference: { runners: 1, intraOpNumThreads: 1 },
      market: { bidWindowMs: init.bidWindowMs ?? 500 }
    }
    const configFile = join(dataDir, 'config.json')
    await writeFile(configFile, JSON.stringify(config, null, 2))
    const logFile = join(dataDir, 'daemon.log')
    const fd = openSync(logFile, 'a')
    const child = spawn(process.execPath, [FLEETMESH_BIN, 'daemon', '--config', configFile], { stdio: ['ignore', fd, fd] })
    closeSync(fd)
    const exited = new Promise<number | null>(resolve => { child.once('exit', (code) => { resolve(code) }) })
    const daemon: FleetDaemon = { ...spec, peerId: peerId.toString(), dataDir, logFile, child, exited, client: undefined as unknown as ApiClient }
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
      await sleep(100)
    }
  }

  try {
    const boot = await launch(first, 0, [])
    const bootstrap = (await boot.client.info()).multiaddrs.filter(a => a.includes('/tcp/') && !a.includes('/p2p-circuit'))
    let stations = 1
    let vehicles = 0
    // one after another: nine Node.js processes booting at once on two cores can miss the 3 s admission timeout
    for (const spec of init.nodes.filter(n => n !== first)) {
      const extra: string[] = []
      for (const name of spec.connectTo ?? []) {
        const d = daemons.find(x => x.name === name)
        if (d != null) extra.push(...(await d.client.info()).multiaddrs.filter(a => a.includes('/tcp/') && !a.includes('/p2p-circuit')))
      }
      await launch(spec, spec.role === 'station' ? stations++ : vehicles++, [...bootstrap, ...extra])
    }
    const deadline = Date.now() + readyTimeoutMs
    while ((await boot.client.peers()).length < daemons.length - 1) {
      if (Date.now() > deadline) throw new FleetStartError(`${first.name} admitted ${(await boot.client.peers()).length} of ${daemons.length - 1} nodes within ${readyTimeoutMs} ms`)
      await sleep(200)
    }
    for (const d of daemons) {
      while ((await d.client.peers()).length === 0) {
        if (Date.now() > deadline) throw new FleetStartError(`${d.name} has no admitted peer within ${readyTimeoutMs} ms:\n${await logTail(d.logFile)}`)
        await sleep(200)
      }
    }
    // gossipsub grafts topic meshes on its 1 s heartbeat: give offers and bids two rounds to find every subscriber
    await sleep(GOSSIP_SETTLE_MS)
  } catch (err) {
    // a caller-chosen root keeps its logs for a post-mortem
    await stop({ keep: init.root != null })
    throw err
  }

  return {
    root,
    authority,
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
