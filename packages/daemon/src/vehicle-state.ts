import { watch } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { basename, dirname } from 'node:path'
import { ReportedVehicleState } from '@fleetmesh/market'
import { logger } from '@libp2p/logger'
import { MAX_STATE_REPORT_BYTES, STATE_FILE_POLL_MS } from './constants.js'
import { VehicleStateError } from './errors.js'
import type { VehicleState } from '@fleetmesh/market'
import type { FSWatcher } from 'node:fs'
import type { IncomingMessage, Server } from 'node:http'

/**
 * Vehicle state sources a real vehicle can use, fed by its telematics
 * bridge: a JSON file the bridge rewrites ({@link FileVehicleState}) and a
 * local HTTP endpoint, on loopback TCP or a Unix socket, the bridge posts to
 * ({@link HttpVehicleState}). Both report the time they last heard from the
 * vehicle, so a silent bridge makes the vehicle stale and drains it.
 *
 * A report is one JSON object:
 * `{ "drive": "parked" | "charging" | "driving", "soc": 0..1, "batteryTempC": °C, "at": ms since the epoch (optional) }`.
 */

const log = logger('fleetmesh:daemon:vehicle-state')

/** A parsed report: the state and when the vehicle was heard (`at`, if the report gives it). */
export interface VehicleReport {
  state: Pick<VehicleState, 'drive' | 'soc' | 'batteryTempC'>
  /** ms since the epoch, if the report carries its own time */
  at?: number
}

/**
 * Parses a report (see the module docs); `state` is accepted for `drive`.
 *
 * @throws VehicleStateError naming the field that is missing or wrong
 */
export function parseVehicleReport (text: string): VehicleReport {
  let v: any
  try { v = JSON.parse(text) } catch (err: any) { throw new VehicleStateError(`not JSON (${err?.message ?? err})`) }
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new VehicleStateError('expected a JSON object {"drive","soc","batteryTempC","at"}')
  const drive = v.drive ?? v.state
  if (drive !== 'parked' && drive !== 'charging' && drive !== 'driving') throw new VehicleStateError(`field "drive": expected parked, charging or driving, got ${JSON.stringify(drive)}`)
  if (typeof v.soc !== 'number' || !(v.soc >= 0 && v.soc <= 1)) throw new VehicleStateError(`field "soc": expected a number 0..1, got ${JSON.stringify(v.soc)}`)
  if (typeof v.batteryTempC !== 'number' || !Number.isFinite(v.batteryTempC)) throw new VehicleStateError(`field "batteryTempC": expected a number (°C), got ${JSON.stringify(v.batteryTempC)}`)
  if (v.at != null && (typeof v.at !== 'number' || !Number.isFinite(v.at) || v.at <= 0)) throw new VehicleStateError(`field "at": expected ms since the epoch, got ${JSON.stringify(v.at)}`)
  return { state: { drive, soc: v.soc, batteryTempC: v.batteryTempC }, ...(v.at != null ? { at: Math.min(v.at, Date.now()) } : {}) }
}

/** Init of {@link FileVehicleState}. */
export interface FileVehicleStateInit {
  /** the JSON state file the bridge writes (best written to a temp file and renamed over it) */
  file: string
  /** see `ReportedVehicleStateInit.maxStaleMs` @default MAX_STATE_STALE_MS (30 s) */
  maxStaleMs?: number
  /** how often the file is also checked, ms @default STATE_FILE_POLL_MS (1 s) */
  pollMs?: number
}

/**
 * A state source that watches a JSON file (see the module docs): every
 * change is a report heard at the report's `at`, else at the file's
 * modification time. A missing or malformed file makes the state unknown.
 */
export class FileVehicleState extends ReportedVehicleState {
  readonly file: string
  private readonly pollMs: number
  private watcher?: FSWatcher
  private pollTimer?: ReturnType<typeof setInterval>
  private lastSeen = ''
  private reading?: Promise<void>

  constructor (init: FileVehicleStateInit) {
    super({ maxStaleMs: init.maxStaleMs, unknownReason: `no state in ${init.file} yet` })
    this.file = init.file
    this.pollMs = init.pollMs ?? STATE_FILE_POLL_MS
  }

  /** Reads the file and starts watching it; a second call does nothing. */
  async start (): Promise<void> {
    if (this.pollTimer != null) return
    this.pollTimer = setInterval(() => { void this.read() }, this.pollMs)
    this.pollTimer.unref()
    await this.read()
    try {
      // the directory, not the file: a bridge that renames a new file over the old one replaces the inode
      this.watcher = watch(dirname(this.file), (_event, name) => { if (name == null || name === basename(this.file)) void this.read() })
      this.watcher.on('error', (err) => { log('watching %s failed - %s', this.file, err.message) })
    } catch (err: any) {
      log('cannot watch %s - %s; polling only', this.file, err?.message ?? err)
    }
  }

  override async stop (): Promise<void> {
    this.watcher?.close()
    this.watcher = undefined
    clearInterval(this.pollTimer)
    this.pollTimer = undefined
    await this.reading
    await super.stop()
  }

  /** Reads the file if it changed since the last read. */
  private async read (): Promise<void> {
    this.reading ??= (async () => {
      try {
        const s = await stat(this.file).catch(() => undefined)
        if (s == null) {
          if (this.lastSeen !== 'missing') { this.lastSeen = 'missing'; this.forget(`state file ${this.file} is missing`) }
          return
        }
        const text = s.size > MAX_STATE_REPORT_BYTES ? '' : await readFile(this.file, 'utf8')
        const seen = `${s.mtimeMs}:${s.size}:${text}`
        if (seen === this.lastSeen) return
        this.lastSeen = seen
        try {
          const r = parseVehicleReport(text)
          this.report(r.state, r.at ?? Math.min(s.mtimeMs, Date.now()))
        } catch (err: any) {
          this.forget(`state file ${this.file}: ${s.size > MAX_STATE_REPORT_BYTES ? `larger than ${MAX_STATE_REPORT_BYTES} bytes` : err?.message ?? err}`)
        }
      } finally {
        this.reading = undefined
      }
    })()
    return this.reading
  }
}

/** Init of {@link HttpVehicleState}. */
export interface HttpVehicleStateInit {
  /** `host:port` on loopback (`127.0.0.1:7070`, port 0 = any) or an absolute Unix socket path */
  listen: string
  /** see `ReportedVehicleStateInit.maxStaleMs` @default MAX_STATE_STALE_MS (30 s) */
  maxStaleMs?: number
}

/**
 * A state source that listens for reports (see the module docs) on a
 * loopback port or a Unix socket: `PUT` or `POST /state` with the JSON
 * report (400 with `{ error }` when it is malformed, else 204); `GET
 * /state` returns the current state. A report is heard at its `at`, else
 * when it arrives.
 */
export class HttpVehicleState extends ReportedVehicleState {
  readonly listen: string
  private server?: Server
  private boundAddress = ''

  constructor (init: HttpVehicleStateInit) {
    super({ maxStaleMs: init.maxStaleMs, unknownReason: `no report on ${init.listen} yet` })
    this.listen = init.listen
  }

  /** where it listens once started: `http://host:port` or the socket path */
  address (): string {
    return this.boundAddress
  }

  /** Starts listening; a second call does nothing. @throws Error (EADDRINUSE, EACCES) if it cannot listen */
  async start (): Promise<void> {
    if (this.server != null) return
    const server = this.server = createServer((req, res) => {
      const send = (status: number, body?: unknown): void => {
        res.writeHead(status, body != null ? { 'content-type': 'application/json' } : {})
        res.end(body != null ? JSON.stringify(body) : undefined)
      }
      const path = (req.url ?? '').split('?')[0]
      if (path !== '/state') { send(404, { error: `no route ${req.method ?? ''} ${path ?? ''}; report to PUT /state` }); return }
      if (req.method === 'GET') { send(200, this.current()); return }
      if (req.method !== 'PUT' && req.method !== 'POST') { send(405, { error: 'use PUT or POST /state with a JSON report, or GET /state' }); return }
      readBody(req).then((text) => {
        const r = parseVehicleReport(text)
        this.report(r.state, r.at)
        send(204)
      }, (err: any) => { send(413, { error: err?.message ?? String(err) }) }).catch((err: any) => {
        send(400, { error: `bad state report: ${err?.message ?? err}` })
      })
    })
    if (this.listen.startsWith('/')) {
      await rm(this.listen, { force: true })
      await listen(server, { path: this.listen })
      this.boundAddress = this.listen
    } else {
      const i = this.listen.lastIndexOf(':')
      const host = this.listen.slice(0, i).replace(/^\[|\]$/g, '')
      await listen(server, { host, port: Number(this.listen.slice(i + 1)) })
      const a = server.address()
      this.boundAddress = typeof a === 'object' && a != null ? `http://${host.includes(':') ? `[${host}]` : host}:${a.port}` : this.listen
    }
  }

  override async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server != null) {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      if (this.listen.startsWith('/')) await rm(this.listen, { force: true })
    }
    await super.stop()
  }
}

async function listen (server: Server, options: { host?: string, port?: number, path?: string }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options, () => { server.off('error', reject); resolve() })
  })
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_STATE_REPORT_BYTES) throw new VehicleStateError(`report larger than ${MAX_STATE_REPORT_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
