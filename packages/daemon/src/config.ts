import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { isRegion } from '@fleetmesh/protocol'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { ConfigError } from './errors.js'

/**
 * The daemon's configuration: a JSON file, `FLEETMESH_*` environment
 * variables and command-line flags, in that order of precedence
 * (flags > env > file > defaults), validated with zod. Every key is listed
 * in {@link CONFIG_KEYS} (the README's reference table comes from it).
 */

/** Log levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
/** A log level: `debug` also turns on `DEBUG=fleetmesh:*` logging. */
export type LogLevel = typeof LOG_LEVELS[number]

/** Owner availability rule of a vehicle (see `AvailabilityPolicy` of @fleetmesh/market). */
export interface AvailabilityConfig {
  /** work while charging @default true */
  whileCharging: boolean
  /** work while parked and not charging @default true */
  whileParked: boolean
  /** minimum state of charge to work while parked, 0..1 @default 0.5 */
  minParkedSoc: number
  /** minimum state of charge to work while charging, 0..1 @default 0 */
  minChargingSoc: number
  /** highest battery temperature to work at, °C @default 45 */
  maxBatteryTempC: number
  /** a state source silent for longer than this is stale and the vehicle stops working, ms @default 30000 */
  maxStaleMs?: number
}

/** Where a vehicle's state comes from: `none` (the vehicle never works), `scripted` (the API sets it), `file` (a JSON file a telematics bridge writes), `http` (a local endpoint the bridge posts to). */
export type VehicleSourceKind = 'none' | 'scripted' | 'file' | 'http'

/** The validated daemon configuration, defaults applied, paths absolute. */
export interface DaemonConfig {
  /** data directory: identity key, datastore, models, ledger, api token, api.json @default `~/.fleetmesh` */
  dataDir: string
  /** `station` (always on, DHT server, relay) or `vehicle` */
  role: 'station' | 'vehicle'
  /** geohash prefix of the node's area (1–12 characters), must equal the certificate's */
  region: string
  /** libp2p listen multiaddrs @default the node's role default (`/ip4/0.0.0.0/tcp/0`, plus `/p2p-circuit` on vehicles) */
  listen?: string[]
  /** multiaddrs announced instead of the listen addresses @default [] */
  announce: string[]
  /** bootstrap multiaddrs with `/p2p/<PeerId>`, usually stations @default [] */
  bootstrap: string[]
  /** PSK v1 swarm key file of the fleet's private network; omit to join no private network */
  swarmKeyFile?: string
  /** this node's device certificate file @default `<dataDir>/certificate` */
  certificateFile: string
  /** trusted fleet authorities: public key files, or the keys themselves (base64, from `fleetmesh authority init`); at least one */
  authorities: string[]
  /** discover peers on the LAN with mDNS @default false */
  mdns: boolean
  /** IP addresses exempt from gossipsub's IP-colocation penalty; a local testnet sets `["127.0.0.1"]`, a real fleet leaves it empty @default [] */
  gossipIpWhitelist: string[]
  /** the local HTTP API */
  api: {
    /** listen address; loopback only (`127.0.0.1` or `::1`) @default 127.0.0.1 */
    host: '127.0.0.1' | '::1'
    /** TCP port, 0 = any free port (the URL is written to `<dataDir>/api.json`) @default 0 */
    port: number
  }
  /** serving jobs for others */
  worker: {
    /** bid on offers and run leased shards @default false */
    enabled: boolean
    /** asking price when idle, credits per compute unit @default 1 */
    pricePerUnit: number
    /** price rise at full load, fraction of the base price @default 0.5 */
    loadFactor: number
    /** most leases held at once @default 4 */
    maxLeases: number
    /** stations: site power budget for compute, kW; unlimited if omitted */
    siteBudgetKw?: number
    /** stations: draw of one running shard, kW @default 0.5 */
    perLeaseKw?: number
    /** vehicles: the owner's availability rule */
    availability: AvailabilityConfig
  }
  /** vehicles: where the vehicle state comes from */
  vehicle: {
    /** where the state comes from @default none (or scripted when `scripted` is set) */
    source?: VehicleSourceKind
    /** `file` source: the JSON state file the telematics bridge writes */
    stateFile?: string
    /** `http` source: `host:port` on loopback or an absolute Unix socket path to accept state reports on */
    stateListen?: string
    /** shorthand for `source: scripted`: the state is set through the API (`POST /api/v1/vehicle`), for testnets @default false */
    scripted: boolean
    /** initial drive state of a scripted vehicle @default parked */
    state: 'parked' | 'charging' | 'driving'
    /** initial battery state of charge of a scripted vehicle, 0..1 @default 0.8 */
    soc: number
    /** battery temperature of a scripted vehicle, °C @default 20 */
    batteryTempC: number
  }
  /** inference runtime */
  inference: {
    /** onnxruntime runner processes @default 1 */
    runners: number
    /** onnxruntime threads per runner (0 lets onnxruntime choose) @default 1 */
    intraOpNumThreads: number
    /** largest job input accepted, bytes @default 64 MiB */
    maxInputBytes?: number
  }
  /** market timing */
  market: {
    /** how long a requester collects bids, ms @default 500 */
    bidWindowMs?: number
    /** requester → worker heartbeat interval, ms @default 1000 */
    heartbeatIntervalMs?: number
    /** a lease with no heartbeat for this long is dead, ms @default 3000 */
    leaseTimeoutMs?: number
  }
  /** receipt ledger: credits */
  ledger: {
    /** refuse to pay (countersign) beyond this node's grants and earnings, and do not bid for requesters that cannot pay @default true */
    requireFunds: boolean
    /** directory of grant files (`fleetmesh authority grant`) added at start @default `<dataDir>/grants` */
    grantsDir?: string
  }
  /** model store */
  modelStore: {
    /** store size budget, bytes (least recently used models are evicted) @default 2 GiB */
    budgetBytes?: number
    /** largest model fetched, served or uploaded, bytes @default 256 MiB */
    maxModelBytes: number
  }
  /** daemon log level (stdout lines) @default info */
  logLevel: LogLevel
}

/** Kinds of config values, for env/flag coercion and the reference table. */
export type ConfigKind = 'string' | 'path' | 'int' | 'number' | 'bool' | 'list' | 'enum'

/** One config key: where it lives, what it takes, its env var. */
export interface ConfigKeySpec {
  /** dotted key, e.g. `api.port` */
  key: string
  kind: ConfigKind
  /** what is expected, for error messages: `an integer 0..65535` */
  expect: string
  /** default as shown in the reference */
  default: string
  /** what it does, with units */
  doc: string
}

/** The environment variable of a key: `api.port` → `FLEETMESH_API_PORT`. */
export function envName (key: string): string {
  return 'FLEETMESH_' + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase()
}

const MIB = 1024 * 1024
/** Largest model accepted by default, bytes (the model store's own limit). */
export const DEFAULT_MAX_MODEL_BYTES = 256 * MIB

/** Every config key, in reference order. */
export const CONFIG_KEYS: readonly ConfigKeySpec[] = [
  { key: 'dataDir', kind: 'path', expect: 'a directory path', default: '~/.fleetmesh', doc: 'data directory: identity key, datastore, models, ledger, `api-token`, `api.json`' },
  { key: 'role', kind: 'enum', expect: 'one of station, vehicle', default: '(required)', doc: '`station` (always on, DHT server, relay) or `vehicle`; must match the certificate' },
  { key: 'region', kind: 'string', expect: 'a geohash prefix of 1-12 characters of 0123456789bcdefghjkmnpqrstuvwxyz, e.g. "u33d"', default: '(required)', doc: 'geohash prefix of the node\'s area; must match the certificate' },
  { key: 'listen', kind: 'list', expect: 'a list of multiaddrs, e.g. ["/ip4/0.0.0.0/tcp/4001"]', default: 'role default', doc: 'libp2p listen multiaddrs (station: `/ip4/0.0.0.0/tcp/0`; vehicle: also `/p2p-circuit`)' },
  { key: 'announce', kind: 'list', expect: 'a list of multiaddrs', default: '[]', doc: 'multiaddrs announced instead of the listen addresses (a station behind port forwarding)' },
  { key: 'bootstrap', kind: 'list', expect: 'a list of multiaddrs ending in /p2p/<PeerId>', default: '[]', doc: 'bootstrap peers, usually stations' },
  { key: 'swarmKeyFile', kind: 'path', expect: 'a file path', default: 'none', doc: 'PSK v1 swarm key of the fleet\'s private network (`fleetmesh swarm-key`)' },
  { key: 'certificateFile', kind: 'path', expect: 'a file path', default: '`<dataDir>/certificate`', doc: 'this node\'s device certificate (`fleetmesh authority issue`)' },
  { key: 'authorities', kind: 'list', expect: 'a non-empty list of authority public key files or base64 keys', default: '(required)', doc: 'trusted fleet authorities (`authority.pub` from `fleetmesh authority init`)' },
  { key: 'mdns', kind: 'bool', expect: 'true or false', default: 'false', doc: 'discover peers on the LAN with mDNS' },
  { key: 'gossipIpWhitelist', kind: 'list', expect: 'a list of IP addresses', default: '[]', doc: 'IPs exempt from gossipsub\'s IP-colocation penalty; local testnets use `["127.0.0.1"]`, real fleets none' },
  { key: 'api.host', kind: 'enum', expect: 'a loopback address: 127.0.0.1 or ::1', default: '127.0.0.1', doc: 'local HTTP API listen address (loopback only)' },
  { key: 'api.port', kind: 'int', expect: 'an integer 0..65535', default: '0', doc: 'local HTTP API port; 0 = any free port (the URL goes to `<dataDir>/api.json`)' },
  { key: 'worker.enabled', kind: 'bool', expect: 'true or false', default: 'false', doc: 'bid on offers in this node\'s region and run leased shards' },
  { key: 'worker.pricePerUnit', kind: 'number', expect: 'a number > 0', default: '1', doc: 'asking price when idle, credits per compute unit' },
  { key: 'worker.loadFactor', kind: 'number', expect: 'a number >= 0', default: '0.5', doc: 'price rise at full load, as a fraction of the base price' },
  { key: 'worker.maxLeases', kind: 'int', expect: 'an integer 1..1024', default: '4', doc: 'most leases held at once, all jobs together' },
  { key: 'worker.siteBudgetKw', kind: 'number', expect: 'a number >= 0 (kW)', default: 'unlimited', doc: 'stations: site power budget for compute, kW' },
  { key: 'worker.perLeaseKw', kind: 'number', expect: 'a number > 0 (kW)', default: '0.5', doc: 'stations: draw of one running shard, kW' },
  { key: 'worker.availability.whileCharging', kind: 'bool', expect: 'true or false', default: 'true', doc: 'vehicles: work while charging' },
  { key: 'worker.availability.whileParked', kind: 'bool', expect: 'true or false', default: 'true', doc: 'vehicles: work while parked and not charging' },
  { key: 'worker.availability.minParkedSoc', kind: 'number', expect: 'a number 0..1', default: '0.5', doc: 'vehicles: minimum state of charge to work while parked, 0..1' },
  { key: 'worker.availability.minChargingSoc', kind: 'number', expect: 'a number 0..1', default: '0', doc: 'vehicles: minimum state of charge to work while charging, 0..1' },
  { key: 'worker.availability.maxBatteryTempC', kind: 'number', expect: 'a number (°C)', default: '45', doc: 'vehicles: highest battery temperature to work at, °C' },
  { key: 'worker.availability.maxStaleMs', kind: 'int', expect: 'an integer 100..86400000 (ms)', default: '30000', doc: 'vehicles: a state source silent for longer than this is stale; the vehicle stops bidding and drains, ms' },
  { key: 'vehicle.source', kind: 'enum', expect: 'one of none, scripted, file, http', default: 'none', doc: 'vehicles: where the state comes from; `none` never works (the safe default), `file` watches `vehicle.stateFile`, `http` listens on `vehicle.stateListen`' },
  { key: 'vehicle.stateFile', kind: 'path', expect: 'a file path', default: 'none', doc: 'vehicles, `file` source: JSON `{"drive":"parked","soc":0.8,"batteryTempC":20,"at":<ms>}` rewritten by the telematics bridge' },
  { key: 'vehicle.stateListen', kind: 'string', expect: 'a loopback host:port (127.0.0.1:7070) or an absolute Unix socket path', default: 'none', doc: 'vehicles, `http` source: where the bridge `PUT`s or `POST`s the same JSON to `/state`' },
  { key: 'vehicle.scripted', kind: 'bool', expect: 'true or false', default: 'false', doc: 'vehicles: state set through `POST /api/v1/vehicle` (testnets) instead of a telematics source' },
  { key: 'vehicle.state', kind: 'enum', expect: 'one of parked, charging, driving', default: 'parked', doc: 'scripted vehicles: initial drive state' },
  { key: 'vehicle.soc', kind: 'number', expect: 'a number 0..1', default: '0.8', doc: 'scripted vehicles: initial battery state of charge, 0..1' },
  { key: 'vehicle.batteryTempC', kind: 'number', expect: 'a number (°C)', default: '20', doc: 'scripted vehicles: battery temperature, °C' },
  { key: 'inference.runners', kind: 'int', expect: 'an integer 1..64', default: '1', doc: 'onnxruntime runner processes' },
  { key: 'inference.intraOpNumThreads', kind: 'int', expect: 'an integer 0..256', default: '1', doc: 'onnxruntime threads per runner (0 = onnxruntime chooses)' },
  { key: 'inference.maxInputBytes', kind: 'int', expect: 'a positive integer (bytes)', default: '67108864 (64 MiB)', doc: 'largest job input accepted, bytes' },
  { key: 'market.bidWindowMs', kind: 'int', expect: 'an integer 1..600000 (ms)', default: '500', doc: 'how long a requester collects bids, ms' },
  { key: 'market.heartbeatIntervalMs', kind: 'int', expect: 'an integer 10..600000 (ms)', default: '1000', doc: 'requester → worker lease heartbeat interval, ms' },
  { key: 'market.leaseTimeoutMs', kind: 'int', expect: 'an integer 10..600000 (ms)', default: '3000', doc: 'a lease with no heartbeat for this long is lost, ms' },
  { key: 'ledger.requireFunds', kind: 'bool', expect: 'true or false', default: 'true', doc: 'pay (countersign) only what this node\'s grants and earnings cover, and bid only for requesters whose spendable balance covers an offer\'s maximum cost; `false` for a fleet that does not account credits' },
  { key: 'ledger.grantsDir', kind: 'path', expect: 'a directory path', default: '`<dataDir>/grants`', doc: 'credit grant files (`*.grant`, `fleetmesh authority grant`) the ledger adds at start, verified, stored and gossiped' },
  { key: 'modelStore.budgetBytes', kind: 'int', expect: 'a positive integer (bytes)', default: '2147483648 (2 GiB)', doc: 'model store size budget, bytes (least recently used models are evicted)' },
  { key: 'modelStore.maxModelBytes', kind: 'int', expect: 'a positive integer (bytes)', default: '268435456 (256 MiB)', doc: 'largest model uploaded, fetched or served, bytes' },
  { key: 'logLevel', kind: 'enum', expect: 'one of error, warn, info, debug', default: 'info', doc: 'daemon log level; `debug` also enables `DEBUG=fleetmesh:*`' }
]

const SPECS = new Map(CONFIG_KEYS.map(s => [s.key, s]))

const int = (min: number, max: number): z.ZodNumber => z.number().int().min(min).max(max)
const list = z.array(z.string().min(1))

/** True if `text` parses as a multiaddr. */
function isMultiaddr (text: string): boolean {
  try { multiaddr(text); return text.startsWith('/') } catch { return false }
}

/** True if `text` parses as a multiaddr that names its peer (`…/p2p/<PeerId>`). */
function isPeerMultiaddr (text: string): boolean {
  if (!isMultiaddr(text)) return false
  const id = multiaddr(text).getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) return false
  try { peerIdFromString(id); return true } catch { return false }
}

/** True for a loopback `host:port` or an absolute Unix socket path. */
function isStateListen (text: string): boolean {
  if (text.startsWith('/')) return true
  const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/.exec(text)
  return m != null && Number(m[2]) <= 65535
}

const availabilitySchema = z.strictObject({
  whileCharging: z.boolean().default(true),
  whileParked: z.boolean().default(true),
  minParkedSoc: z.number().min(0).max(1).default(0.5),
  minChargingSoc: z.number().min(0).max(1).default(0),
  maxBatteryTempC: z.number().default(45),
  maxStaleMs: int(100, 86_400_000).default(30_000)
})

/** The zod schema of the config (before path resolution). */
export const configSchema = z.strictObject({
  dataDir: z.string().min(1),
  role: z.enum(['station', 'vehicle']),
  region: z.string().refine(isRegion),
  listen: z.array(z.string().refine(isMultiaddr)).optional(),
  announce: z.array(z.string().refine(isMultiaddr)).default([]),
  bootstrap: z.array(z.string().refine(isPeerMultiaddr)).default([]),
  swarmKeyFile: z.string().min(1).optional(),
  certificateFile: z.string().min(1).optional(),
  authorities: list.min(1),
  mdns: z.boolean().default(false),
  gossipIpWhitelist: list.default([]),
  api: z.strictObject({
    host: z.enum(['127.0.0.1', '::1']).default('127.0.0.1'),
    port: int(0, 65535).default(0)
  }).default({ host: '127.0.0.1', port: 0 }),
  worker: z.strictObject({
    enabled: z.boolean().default(false),
    pricePerUnit: z.number().positive().default(1),
    loadFactor: z.number().min(0).default(0.5),
    maxLeases: int(1, 1024).default(4),
    siteBudgetKw: z.number().min(0).optional(),
    perLeaseKw: z.number().positive().optional(),
    availability: availabilitySchema.default(availabilitySchema.parse({}))
  }).prefault({}),
  vehicle: z.strictObject({
    source: z.enum(['none', 'scripted', 'file', 'http']).optional(),
    stateFile: z.string().min(1).optional(),
    stateListen: z.string().refine(isStateListen).optional(),
    scripted: z.boolean().default(false),
    state: z.enum(['parked', 'charging', 'driving']).default('parked'),
    soc: z.number().min(0).max(1).default(0.8),
    batteryTempC: z.number().default(20)
  }).prefault({}),
  inference: z.strictObject({
    runners: int(1, 64).default(1),
    intraOpNumThreads: int(0, 256).default(1),
    maxInputBytes: z.number().int().positive().optional()
  }).prefault({}),
  market: z.strictObject({
    bidWindowMs: int(1, 600_000).optional(),
    heartbeatIntervalMs: int(10, 600_000).optional(),
    leaseTimeoutMs: int(10, 600_000).optional()
  }).prefault({}),
  ledger: z.strictObject({
    requireFunds: z.boolean().default(true),
    grantsDir: z.string().min(1).optional()
  }).prefault({}),
  modelStore: z.strictObject({
    budgetBytes: z.number().int().positive().optional(),
    maxModelBytes: z.number().int().positive().default(DEFAULT_MAX_MODEL_BYTES)
  }).prefault({}),
  logLevel: z.enum(LOG_LEVELS).default('info')
})

// the interface above is the documented shape; keep the schema in step with it
type SchemaOutput = z.output<typeof configSchema>
const _shapeCheck = (c: SchemaOutput): Omit<DaemonConfig, 'certificateFile'> & { certificateFile?: string } => c
void _shapeCheck

/** A layer of raw values: the config file (nested JSON), or flat dotted keys from env/flags. */
export type RawConfig = Record<string, unknown>

/** Input of {@link loadConfig}. */
export interface LoadConfigInit {
  /** JSON config file; relative paths inside it resolve against its directory */
  file?: string
  /** environment (only `FLEETMESH_*` names are read) @default process.env */
  env?: Record<string, string | undefined>
  /** flag values by dotted key (`{ 'api.port': '8080', bootstrap: ['/ip4/…'] }`); strings are coerced like env values */
  flags?: Record<string, unknown>
  /** base directory of relative paths in env and flags @default process.cwd() */
  cwd?: string
  /** accept a config with no `authorities` yet (`fleetmesh init` before the authority is known) @default false */
  allowNoAuthorities?: boolean
}

function setPath (target: Record<string, any>, key: string, value: unknown): void {
  const parts = key.split('.')
  let at = target
  for (const p of parts.slice(0, -1)) {
    if (at[p] == null || typeof at[p] !== 'object' || Array.isArray(at[p])) at[p] = {}
    at = at[p]
  }
  at[parts[parts.length - 1] as string] = value
}

function getPath (source: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let at: any = source
  for (const p of path) {
    if (at == null || typeof at !== 'object') return undefined
    at = at[p as any]
  }
  return at
}

function flatten (obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = []
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`
    if (v != null && typeof v === 'object' && !Array.isArray(v) && !SPECS.has(key)) out.push(...flatten(v as Record<string, unknown>, key))
    else out.push([key, v])
  }
  return out
}

/** Coerces a string from env or a flag to the key's kind; a value that does not parse is kept as is, so validation names it. */
function coerce (spec: ConfigKeySpec, value: unknown): unknown {
  if (typeof value === 'boolean' && spec.kind !== 'bool') return value
  if (spec.kind === 'list') {
    if (Array.isArray(value)) return value.flatMap(v => String(v).split(',')).map(s => s.trim()).filter(s => s !== '')
    if (typeof value === 'string') return value.split(',').map(s => s.trim()).filter(s => s !== '')
    return value
  }
  if (typeof value !== 'string') return value
  const text = value.trim()
  if (spec.kind === 'int' || spec.kind === 'number') {
    return /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : value
  }
  if (spec.kind === 'bool') {
    if (/^(true|1|yes|on)$/i.test(text)) return true
    if (/^(false|0|no|off)$/i.test(text)) return false
    return value
  }
  return value
}

/**
 * The typed value of a string given for `key` (`--set key=value`): a
 * number, a boolean or a list where the key takes one; a string that does
 * not parse stays a string (so validation names it).
 */
export function coerceValue (key: string, value: string): unknown {
  const spec = SPECS.get(key)
  return spec == null ? value : coerce(spec, value)
}

function describe (value: unknown): string {
  if (value === undefined) return 'nothing'
  try { return JSON.stringify(value) } catch { return String(value) }
}

function displayPath (path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : (out === '' ? String(p) : `.${String(p)}`)
  return out
}

/**
 * Loads the config: defaults < `file` < `FLEETMESH_*` env < `flags`, then
 * validates it. Relative paths resolve against the config file's directory
 * (file values) or `cwd` (env and flag values). `certificateFile` defaults
 * to `<dataDir>/certificate`; when no file is given and
 * `<dataDir>/config.json` exists, it is read as the file layer.
 *
 * @throws ConfigError naming the first bad key, what it expects and what it got (and where the value came from)
 */
export function loadConfig (init: LoadConfigInit = {}): DaemonConfig {
  const env = init.env ?? process.env
  const cwd = init.cwd ?? process.cwd()
  const merged: Record<string, any> = {}
  const sources = new Map<string, string>()

  // env and flags first (to find the data directory's config.json when no file is given)
  const envLayer: Array<[string, unknown, string]> = []
  for (const spec of CONFIG_KEYS) {
    const name = envName(spec.key)
    const v = env[name]
    if (v !== undefined && v !== '') envLayer.push([spec.key, coerce(spec, v), `env ${name}`])
  }
  const flagLayer: Array<[string, unknown, string]> = []
  for (const [key, v] of Object.entries(init.flags ?? {})) {
    if (v === undefined) continue
    const spec = SPECS.get(key)
    if (spec == null) throw new ConfigError(`config key "${key}": unknown key; known keys: ${CONFIG_KEYS.map(s => s.key).join(', ')}`, key)
    flagLayer.push([key, coerce(spec, v), 'the command line'])
  }

  let file = init.file
  if (file == null) {
    const dataDir = [...flagLayer, ...envLayer].find(([k]) => k === 'dataDir')?.[1]
    if (typeof dataDir === 'string') {
      const candidate = join(resolve(cwd, dataDir), 'config.json')
      if (existsSync(candidate)) file = candidate
    }
  }
  if (file != null) {
    const path = resolve(cwd, file)
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'))
    } catch (err: any) {
      const why = err?.code === 'ENOENT' ? 'no such file' : err?.message ?? String(err)
      throw new ConfigError(`config file ${path}: cannot read it as JSON (${why}); write a JSON object of config keys, or create one with \`fleetmesh init\``)
    }
    if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${path}: expected a JSON object of config keys, got ${describe(parsed)}`)
    }
    const base = dirname(path)
    for (const [key, value] of flatten(parsed as Record<string, unknown>)) {
      const spec = SPECS.get(key)
      if (spec == null) throw new ConfigError(`config key "${key}" (file ${path}): unknown key; known keys: ${CONFIG_KEYS.map(s => s.key).join(', ')}`, key)
      setPath(merged, key, resolvePaths(spec, value, base))
      sources.set(key, `file ${path}`)
    }
  }
  for (const [key, value, source] of [...envLayer, ...flagLayer]) {
    setPath(merged, key, resolvePaths(SPECS.get(key) as ConfigKeySpec, value, cwd))
    sources.set(key, source)
  }
  if (merged.dataDir == null) merged.dataDir = join(homedir(), '.fleetmesh')

  if (file == null && merged.role == null) {
    const dir = resolve(cwd, String(merged.dataDir))
    throw new ConfigError(`no config for data directory ${dir} (no ${join(dir, 'config.json')}): run \`fleetmesh init --data-dir ${dir} --role station|vehicle --region GEOHASH\` first, or give --config FILE`, 'role')
  }
  const schema = init.allowNoAuthorities === true ? configSchema.extend({ authorities: list.default([]) }) : configSchema
  const result = schema.safeParse(merged)
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue
    if (issue.code === 'unrecognized_keys') {
      const key = displayPath([...issue.path, issue.keys[0] as string])
      throw new ConfigError(`config key "${key}": unknown key; known keys: ${CONFIG_KEYS.map(s => s.key).join(', ')}`, key)
    }
    const path = issue.path.filter(p => typeof p === 'string').join('.')
    const spec = SPECS.get(path) ?? SPECS.get(issue.path.slice(0, -1).filter(p => typeof p === 'string').join('.'))
    const key = displayPath(issue.path)
    const source = sources.get(spec?.key ?? path)
    const got = getPath(merged, issue.path)
    const expect = spec?.expect ?? issue.message
    throw new ConfigError(`config key "${key}": expected ${expect}, got ${describe(got)}${source != null ? ` (from ${source})` : ''}`, spec?.key ?? path)
  }
  const out = result.data
  const source: VehicleSourceKind = out.vehicle.source ?? (out.vehicle.scripted ? 'scripted' : 'none')
  if (out.role === 'vehicle' && source === 'file' && out.vehicle.stateFile == null) throw new ConfigError(`config key "vehicle.stateFile": expected a file path for vehicle.source "file", got nothing${sourceOf(sources, 'vehicle.source')}`, 'vehicle.stateFile')
  if (out.role === 'vehicle' && source === 'http' && out.vehicle.stateListen == null) throw new ConfigError(`config key "vehicle.stateListen": expected a loopback host:port or a Unix socket path for vehicle.source "http", got nothing${sourceOf(sources, 'vehicle.source')}`, 'vehicle.stateListen')
  return { ...out, vehicle: { ...out.vehicle, source }, certificateFile: out.certificateFile ?? join(out.dataDir, 'certificate') }
}

function sourceOf (sources: Map<string, string>, key: string): string {
  const s = sources.get(key)
  return s != null ? ` (vehicle.source from ${s})` : ''
}

function resolvePaths (spec: ConfigKeySpec, value: unknown, base: string): unknown {
  if (spec.kind === 'path' && typeof value === 'string' && value !== '') return resolve(base, value.replace(/^~(?=$|\/)/, homedir()))
  if (spec.key === 'authorities' && Array.isArray(value)) {
    // an entry that names an existing file becomes an absolute path; anything else is taken as a key
    return value.map(v => typeof v === 'string' && existsSync(resolve(base, v)) ? resolve(base, v) : v)
  }
  return value
}

/** Documentation of every key as a Markdown table (the README's config reference). */
export function configReference (): string {
  const rows = CONFIG_KEYS.map(s => `| \`${s.key}\` | \`${envName(s.key)}\` | ${s.expect.replace(/\|/g, '\\|')} | ${s.default} | ${s.doc} |`)
  return ['| key | env | value | default | what |', '| --- | --- | --- | --- | --- |', ...rows].join('\n')
}
