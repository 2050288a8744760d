import { readFileSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { ScriptedVehicleState, UnknownVehicleState } from '@fleetmesh/market'
import { createMeshNode, importAuthorityPublicKey, loadOrCreateIdentity } from '@fleetmesh/peer'
import { enable, logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { createApi } from './api.js'
import { RTT_PING_TIMEOUT_MS, RTT_REFRESH_MS } from './constants.js'
import { ConfigError, DaemonStartError } from './errors.js'
import { loadOrCreateToken, removeApiAddress, writeApiAddress } from './files.js'
import { JobTracker } from './jobs.js'
import { SessionTracker } from './sessions.js'
import { DaemonMetrics } from './metrics.js'
import { SeriesRecorder } from './series.js'
import { WorkerLeaseLog } from './views.js'
import { FileVehicleState, HttpVehicleState } from './vehicle-state.js'
import type { DaemonConfig, LogLevel } from './config.js'
import type { Ledger } from '@fleetmesh/ledger'
import type { LeaseEvent, VehicleStateSource, WorkerInit } from '@fleetmesh/market'
import type { MeshNode, MeshNodeInit } from '@fleetmesh/peer'
import type { PublicKey } from '@libp2p/interface'
import type { FastifyInstance } from 'fastify'

const log = logger('fleetmesh:daemon')

/** How long a stopping daemon waits for the market to drain (leases handed back), ms. */
export const DRAIN_TIMEOUT_MS = 5000
/** How long a stopping daemon waits for the node to stop, ms. */
export const NODE_STOP_TIMEOUT_MS = 7000

/** The daemon's version (its package's). */
export const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
})()

/** A running daemon. */
export interface Daemon {
  /** the mesh node */
  node: MeshNode
  /** base URL of the local API, e.g. `http://127.0.0.1:41234` */
  url: string
  /** the API bearer token */
  token: string
  config: DaemonConfig
  metrics: DaemonMetrics
  /** resolves once the daemon has stopped, by `stop()` or `POST /api/v1/shutdown` */
  closed: Promise<void>
  /** Drains the market (no new bids, leases handed back), cancels running jobs, closes open sessions, stops the API and the node, removes `api.json`. Idempotent. */
  stop(): Promise<void>
}

/** Options of {@link startDaemon}. */
export interface StartDaemonOptions {
  /** receives one line per lifecycle step @default lines to stdout, filtered by `config.logLevel` */
  log?: (level: LogLevel, line: string) => void
  /** extra mesh node init merged over what the config gives (tests) */
  meshInit?: Partial<MeshNodeInit>
  /**
   * how often each directly connected peer's RTT is measured again, ms (0 = never)
   * @default RTT_REFRESH_MS (30 s)
   */
  rttRefreshMs?: number
  /** how often the dashboard's time series takes a sample, ms @default SERIES_SAMPLE_MS (10 s) */
  seriesSampleMs?: number
}

const LEVEL_ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

/** The default lifecycle logger: `fleetmesh: <line>` on stdout (errors and warnings on stderr), up to `level`. */
export function consoleLog (level: LogLevel): (at: LogLevel, line: string) => void {
  return (at, line) => {
    if (LEVEL_ORDER[at] > LEVEL_ORDER[level]) return
    const text = `${new Date().toISOString()} fleetmesh: ${line}\n`
    if (at === 'error' || at === 'warn') process.stderr.write(text)
    else process.stdout.write(text)
  }
}

async function readRequired (file: string, what: string, fix: string): Promise<Uint8Array> {
  try {
    return await readFile(file)
  } catch (err: any) {
    throw new DaemonStartError(`cannot read the ${what} ${file} (${err?.code ?? err?.message ?? err}); ${fix}`)
  }
}

/**
 * Parses the trusted authorities: each entry is a public key file (made
 * absolute by `loadConfig`) or the base64 key itself.
 *
 * @throws ConfigError naming the entry that is neither
 */
export async function loadAuthorities (entries: string[]): Promise<PublicKey[]> {
  const keys: PublicKey[] = []
  for (const [i, entry] of entries.entries()) {
    let text = entry
    if (entry.startsWith('/')) {
      try {
        text = await readFile(entry, 'utf8')
      } catch (err: any) {
        throw new ConfigError(`config key "authorities[${i}]": expected an authority public key file or a base64 key, got ${JSON.stringify(entry)} (${err?.code ?? 'unreadable'})`, 'authorities')
      }
    }
    try {
      keys.push(importAuthorityPublicKey(text))
    } catch {
      throw new ConfigError(`config key "authorities[${i}]": expected an authority public key file or a base64 key (authority.pub from \`fleetmesh authority init\`), got ${JSON.stringify(entry.slice(0, 100))}`, 'authorities')
    }
  }
  return keys
}

/**
 * Starts a daemon from a validated config: loads the identity, certificate,
 * authorities and swarm key, builds the mesh node (worker policy, scripted
 * vehicle state, metrics), then serves the local API on `config.api` and
 * writes `<dataDir>/api.json`.
 *
 * @throws DaemonStartError if the certificate or swarm key file cannot be read
 * @throws ConfigError on a bad authority entry
 * @throws the mesh node's errors (OwnCertificateError, InvalidSwarmKeyError, DataDirError, …) and listen errors (EADDRINUSE)
 */
export async function startDaemon (config: DaemonConfig, options: StartDaemonOptions = {}): Promise<Daemon> {
  const say = options.log ?? consoleLog(config.logLevel)
  if (config.logLevel === 'debug') enable('fleetmesh:*')
  const startedAt = Date.now()
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const token = await loadOrCreateToken(config.dataDir)
  const privateKey = await loadOrCreateIdentity(config.dataDir)
  const peerId = peerIdFromPrivateKey(privateKey)
  say('info', `starting ${config.role} in region ${config.region}, data dir ${config.dataDir}`)
  say('info', `peerId ${peerId.toString()}`)

  const certificate = await readRequired(config.certificateFile, 'certificate', `have the fleet authority issue one: fleetmesh authority issue --authority DIR --peer ${peerId.toString()} --role ${config.role} --region ${config.region}${config.role === 'vehicle' ? ' --owner OWNER_ACCOUNT' : ''} --out ${config.certificateFile}`)
  const swarmKey = config.swarmKeyFile != null ? await readRequired(config.swarmKeyFile, 'swarm key', 'copy the fleet\'s swarm key there (fleetmesh swarm-key makes a new one)') : undefined
  const trustedAuthorities = await loadAuthorities(config.authorities)

  let vehicle: ScriptedVehicleState | undefined
  let vehicleSource: VehicleStateSource | undefined
  if (config.role === 'vehicle' && config.worker.enabled) {
    ({ vehicle, vehicleSource } = await startVehicleSource(config))
    say('info', `vehicle state source: ${describeSource(config, vehicleSource)}`)
  }
  let worker: Omit<WorkerInit, 'onLease'> | undefined
  if (config.worker.enabled) {
    worker = {
      maxConcurrentLeases: config.worker.maxLeases,
      pricing: { basePricePerUnit: config.worker.pricePerUnit, loadFactor: config.worker.loadFactor },
      ...(config.worker.siteBudgetKw != null ? { power: { siteBudgetKw: config.worker.siteBudgetKw, perLeaseKw: config.worker.perLeaseKw } } : {}),
      ...(config.role === 'vehicle' ? { availability: config.worker.availability } : {}),
      ...(vehicleSource != null ? { vehicleState: vehicleSource } : {})
    }
  }

  // the metrics exist before the node (libp2p registers its own into their registry); their sources read the node once it runs
  const ref: { node?: MeshNode } = {}
  const metrics = new DaemonMetrics(() => ref.node?.peers() ?? [], () => ref.node?.libp2p.services.market.heldLeases().length ?? 0, VERSION)
  const market = Object.fromEntries(Object.entries(config.market).filter(([, v]) => v != null))
  const mesh = ref.node = await listenErrorsNamed(config, vehicleSource, async () => createMeshNode({
    role: config.role,
    region: config.region,
    dataDir: config.dataDir,
    privateKey,
    certificate,
    trustedAuthorities,
    swarmKey,
    listen: config.listen,
    announce: config.announce,
    bootstrap: config.bootstrap,
    mdns: config.mdns,
    worker,
    market,
    ledger: { requireFunds: config.ledger.requireFunds, ...(config.ledger.grantsDir != null ? { grantsDir: config.ledger.grantsDir } : {}) },
    inference: { runners: config.inference.runners, intraOpNumThreads: config.inference.intraOpNumThreads, maxInputBytes: config.inference.maxInputBytes },
    modelStore: { budgetBytes: config.modelStore.budgetBytes, maxModelBytes: config.modelStore.maxModelBytes },
    ...(config.gossipIpWhitelist.length > 0 ? { gossip: { scoreParams: { IPColocationFactorWhitelist: new Set(config.gossipIpWhitelist) } } } : {}),
    metrics: prometheusMetrics({ registry: metrics.registry, preserveExistingMetrics: false, collectDefaultMetrics: true, statfsLocation: config.dataDir }),
    ...options.meshInit
  }))
  for (const addr of mesh.getMultiaddrs()) say('info', `listening on ${addr.toString()}`)
  const ledger = (): Ledger | undefined => mesh.libp2p.services.ledger as Ledger | undefined
  const unwire = wireMetrics(mesh, metrics)
  if (vehicleSource != null) {
    const source = vehicleSource
    metrics.trackVehicle(() => {
      const v = source.current()
      return { state: v.unknown != null ? 'unknown' : v.drive, soc: v.soc, batteryTempC: v.batteryTempC, heardAt: v.heardAt, bidding: mesh.libp2p.services.market.isBidding() }
    })
  }
  const jobs = new JobTracker(mesh, metrics)
  const sessions = new SessionTracker(mesh)
  const self = mesh.peerId.toString()
  const series = new SeriesRecorder({
    peers: () => mesh.peers(),
    credits: () => {
      const b = ledger()?.balances().peers[self]
      return ledger() == null ? undefined : { earned: b?.earned ?? 0, spent: b?.spent ?? 0 }
    }
  }, options.seriesSampleMs)
  const leaseLog = new WorkerLeaseLog(() => mesh.libp2p.services.market.heldLeases())
  const onWorkerLease = (evt: CustomEvent<LeaseEvent>): void => {
    const ended = leaseLog.onLease(evt.detail)
    if (ended?.state === 'completed') series.onWorkerLeaseCompleted(ended.units)
  }
  mesh.libp2p.services.market.addEventListener('lease', onWorkerLease as any)
  const unfollow = jobs.onProgress(p => { series.onProgress(p) })
  series.start()
  const unwireViews = (): void => {
    series.stop()
    unfollow()
    mesh.libp2p.services.market.removeEventListener('lease', onWorkerLease as any)
  }
  const rtts = new Map<string, { rttMs: number, at: number }>()
  const rttEvery = options.rttRefreshMs ?? RTT_REFRESH_MS
  const rttTimer = rttEvery > 0 ? setInterval(() => { void refreshRtts(mesh, rtts) }, rttEvery) : undefined
  rttTimer?.unref()

  let app: FastifyInstance | undefined
  let url = ''
  let stopping: Promise<void> | undefined
  const closed = Promise.withResolvers<void>()

  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      say('info', 'stopping: draining the market (no new bids, leases handed back)')
      const drained = await withTimeout(mesh.libp2p.services.market.drain('the daemon is stopping'), DRAIN_TIMEOUT_MS)
      say(drained ? 'info' : 'warn', drained ? 'drained' : `drain did not finish in ${DRAIN_TIMEOUT_MS} ms; stopping anyway`)
      jobs.stop()
      // open sessions settle the steps their workers served
      await withTimeout(sessions.stop(), DRAIN_TIMEOUT_MS)
      clearInterval(rttTimer)
      unwireViews()
      await app?.close().catch((err: any) => { log.error('closing the API failed - %s', err?.message ?? err) })
      say('info', 'API stopped')
      unwire()
      const stopped = await withTimeout(mesh.stop(), NODE_STOP_TIMEOUT_MS)
      say(stopped ? 'info' : 'warn', stopped ? 'node stopped (stores flushed)' : `the node did not stop in ${NODE_STOP_TIMEOUT_MS} ms`)
      await removeApiAddress(config.dataDir).catch(() => {})
      say('info', 'stopped')
      closed.resolve()
    })()
    return stopping
  }

  try {
    app = await createApi({
      node: mesh,
      config,
      token,
      jobs,
      sessions,
      metrics,
      startedAt,
      version: VERSION,
      vehicle,
      vehicleSource,
      rtt: (peerId) => rtts.get(peerId),
      series,
      leaseLog,
      ledger,
      url: () => url,
      shutdown: () => { void stop().catch((err: any) => { log.error('shutdown failed - %s', err?.message ?? err) }) }
    })
    await app.listen({ host: config.api.host, port: config.api.port }).catch((err: any) => {
      if (err?.code === 'EADDRINUSE') throw new ConfigError(`config key "api.port": port ${config.api.port} on ${config.api.host} is in use; set api.port (--api-port) to a free port, or 0 for any`, 'api.port')
      throw err
    })
    const address = app.server.address()
    const port = typeof address === 'object' && address != null ? address.port : config.api.port
    url = `http://${config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host}:${port}`
    await writeApiAddress(config.dataDir, { url, pid: process.pid })
  } catch (err) {
    clearInterval(rttTimer)
    unwireViews()
    unwire()
    await app?.close().catch(() => {})
    await mesh.stop().catch(() => {})
    throw err
  }
  say('info', `API on ${url} (token in ${config.dataDir}/api-token)`)
  say('info', `dashboard on ${url}/#token=${token}`)
  return { node: mesh, url, token, config, metrics, closed: closed.promise, stop }
}

async function withTimeout (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, ms) })
  try {
    return await Promise.race([p.then(() => true, (err: any) => { log.error('%s', err?.message ?? err); return true }), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Counts market events into the daemon's metrics (the ledger registers its own); returns the function that removes the listeners. */
function wireMetrics (node: MeshNode, metrics: DaemonMetrics): () => void {
  const market = node.libp2p.services.market
  const inference = node.libp2p.services.inference
  metrics.trackInferBytes(() => inference?.counters)
  const leaseStarts = new Map<string, number>()
  const onOffer = (): void => { metrics.offersReceived.inc() }
  const onBid = (evt: CustomEvent<{ side: string }>): void => { metrics.bids.inc({ side: evt.detail.side }) }
  const onJob = (evt: CustomEvent<{ state: string }>): void => {
    if (evt.detail.state === 'bidding' || evt.detail.state === 'reoffered') metrics.offersPublished.inc()
  }
  const onLease = (evt: CustomEvent<LeaseEvent>): void => {
    const e = evt.detail
    metrics.leases.inc({ side: e.side, state: e.state })
    if (e.side === 'requester' && e.state === 'awarded') metrics.awards.inc()
    const key = `${e.side}/${e.leaseId}`
    if (e.state === 'awarded' || (e.state === 'active' && !leaseStarts.has(key))) {
      leaseStarts.set(key, e.at)
      return
    }
    if (e.state === 'active') return
    const started = leaseStarts.get(key)
    leaseStarts.delete(key)
    if (started != null) metrics.leaseDuration.observe({ side: e.side, state: e.state }, Math.max(0, e.at - started) / 1000)
    if (e.state !== 'completed') metrics.leasesLost.inc({ side: e.side, reason: e.state })
  }
  market.addEventListener('offer', onOffer)
  market.addEventListener('bid', onBid as any)
  market.addEventListener('job', onJob as any)
  market.addEventListener('lease', onLease as any)
  return () => {
    market.removeEventListener('offer', onOffer)
    market.removeEventListener('bid', onBid as any)
    market.removeEventListener('job', onJob as any)
    market.removeEventListener('lease', onLease as any)
  }
}
/** The vehicle state source the config names, started (so a listen error names its key before the node starts). */
async function startVehicleSource (config: DaemonConfig): Promise<{ vehicle?: ScriptedVehicleState, vehicleSource: VehicleStateSource }> {
  const maxStaleMs = config.worker.availability.maxStaleMs
  switch (config.vehicle.source ?? (config.vehicle.scripted ? 'scripted' : 'none')) {
    case 'scripted': {
      const vehicle = new ScriptedVehicleState({ drive: config.vehicle.state, soc: config.vehicle.soc, batteryTempC: config.vehicle.batteryTempC })
      return { vehicle, vehicleSource: vehicle }
    }
    case 'file': {
      const source = new FileVehicleState({ file: config.vehicle.stateFile as string, maxStaleMs })
      await source.start()
      return { vehicleSource: source }
    }
    case 'http': {
      const source = new HttpVehicleState({ listen: config.vehicle.stateListen as string, maxStaleMs })
      await source.start().catch((err: any) => {
        throw new ConfigError(`config key "vehicle.stateListen": cannot listen on ${config.vehicle.stateListen ?? ''} (${err?.code ?? err?.message ?? err}); pick a free port or socket path`, 'vehicle.stateListen')
      })
      return { vehicleSource: source }
    }
    default:
      return { vehicleSource: new UnknownVehicleState('no state source configured; set vehicle.source to file, http or scripted') }
  }
}

function describeSource (config: DaemonConfig, source: VehicleStateSource): string {
  if (source instanceof FileVehicleState) return `file ${source.file}`
  if (source instanceof HttpVehicleState) return `http ${source.address()} (PUT /state)`
  if (source instanceof ScriptedVehicleState) return 'scripted (POST /api/v1/vehicle)'
  return `none: the vehicle does not work until vehicle.source is set (${config.vehicle.source ?? 'none'})`
}

/** Runs `fn` (the node's creation); an address that cannot be listened on becomes a ConfigError naming `listen`. Stops the vehicle source if it fails. */
async function listenErrorsNamed<T> (config: DaemonConfig, source: VehicleStateSource | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err: any) {
    await source?.stop?.()
    const text = `${String(err?.name)} ${String(err?.message)} ${String(err?.code)} ${String(err?.cause?.message)}`
    if (/EADDRINUSE|EADDRNOTAVAIL|EACCES|faultTolerance|UnsupportedListenAddress|NoValidAddresses/i.test(text)) {
      const why = /EADDRNOTAVAIL/.test(text) ? 'address not available on this machine' : /EACCES/.test(text) ? 'permission denied' : 'address in use'
      throw new ConfigError(`config key "listen": cannot listen on ${(config.listen ?? ['the role default']).join(', ')} (${why}); set listen (--listen) to a free port, or tcp/0 for any`, 'listen')
    }
    throw err
  }
}

/**
 * Pings, one at a time, every admitted peer this node has a direct (not
 * relayed) connection to, over that connection (never a new dial), and
 * records the RTTs; a failed ping keeps the last value.
 */
async function refreshRtts (mesh: MeshNode, rtts: Map<string, { rttMs: number, at: number }>): Promise<void> {
  const peers = mesh.peers()
  const live = new Set(peers.map(p => p.peerId.toString()))
  for (const id of rtts.keys()) if (!live.has(id)) rtts.delete(id)
  for (const p of peers) {
    const conn = mesh.libp2p.getConnections(p.peerId).find(c => c.status === 'open' && c.limits == null)
    if (conn == null) continue
    try {
      // by PeerId: the dial reuses the open connection (a connection's remote address may be the peer's ephemeral source port)
      const rttMs = await mesh.libp2p.services.ping.ping(p.peerId, { signal: AbortSignal.timeout(RTT_PING_TIMEOUT_MS) })
      rtts.set(p.peerId.toString(), { rttMs, at: Date.now() })
    } catch (err: any) {
      log('ping %p failed - %s', p.peerId, err?.message ?? err)
    }
  }
}
