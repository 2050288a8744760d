import { createHash, timingSafeEqual } from 'node:crypto'
import { isWorkAllowed } from '@fleetmesh/market'
import { checkInputs } from '@fleetmesh/peer'
import { decodeTensors, encodeTensors, MAX_REVOCATION_LIST_BYTES, MAX_TENSOR_BYTES } from '@fleetmesh/protocol'
import { parseModelCid } from '@fleetmesh/runtime'
import { peerIdFromString } from '@libp2p/peer-id'
import Fastify from 'fastify'
import { z } from 'zod'
import { API_PREFIX, badRequest, HttpError, parseBody } from './api-errors.js'
import { registerSessionRoutes } from './api-sessions.js'
import { registerDashboard } from './dashboard/index.js'
import { ownerEarningsByDay } from './views.js'
import type { DaemonConfig } from './config.js'
import type { JobRequest, JobTracker } from './jobs.js'
import type { DaemonMetrics } from './metrics.js'
import type { SeriesRecorder } from './series.js'
import type { SessionTracker } from './sessions.js'
import type { WorkerLeaseLog } from './views.js'
import type { Ledger } from '@fleetmesh/ledger'
import type { ScriptedVehicleState, VehicleStateSource } from '@fleetmesh/market'
import type { MeshNode, VerifiedRevocationList } from '@fleetmesh/peer'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * The daemon's local HTTP API (fastify), on loopback only. Every route but
 * `GET /` (the dashboard) needs `Authorization: Bearer <token>`. Errors are
 * JSON `{ error: { code, message } }` with a matching status; bad input is
 * a 400 and never stops the daemon. Routes (all under `/api/v1` except
 * `/metrics` and `/`): see the package README.
 */

export { API_PREFIX, HttpError } from './api-errors.js'

/** What the API serves from. */
export interface ApiContext {
  node: MeshNode
  config: DaemonConfig
  /** the bearer token */
  token: string
  jobs: JobTracker
  /** the stateful sessions opened through the API */
  sessions: SessionTracker
  metrics: DaemonMetrics
  /** ms since the epoch */
  startedAt: number
  /** daemon version */
  version: string
  /** the settable state source of a scripted vehicle */
  vehicle?: ScriptedVehicleState
  /** a vehicle worker's state source (scripted, file, http or none) */
  vehicleSource?: VehicleStateSource
  /** the daemon's latest RTT measurement of a peer (PeerId string), if it took one */
  rtt?: (peerId: string) => { rttMs: number, at: number } | undefined
  /** the dashboard's time series */
  series?: SeriesRecorder
  /** this worker's leases, held and recently ended */
  leaseLog?: WorkerLeaseLog
  /** the node's ledger, if it runs one */
  ledger: () => Ledger | undefined
  /** the API's own base URL, once listening */
  url: () => string
  /** starts the daemon's shutdown (drain, stop); called after `POST /api/v1/shutdown` was answered */
  shutdown: () => void
}

/** Errors of a revocation list that is not one this daemon can apply (400). */
const REVOCATION_INPUT_ERRORS = new Set(['UnknownAuthorityError', 'InvalidRevocationListError', 'InvalidSignatureError', 'MessageTooLargeError', 'InvalidCertificateError'])

/** A held revocation list as the API shows it. */
function revocationView (l: VerifiedRevocationList): { authority: string, sequence: number, issuedAt: number, entries: Array<{ peerId?: string, serial?: string, reason: string }> } {
  return {
    authority: l.authority,
    sequence: Number(l.sequence),
    issuedAt: Number(l.issuedAt),
    entries: l.entries.map(e => ({ ...(e.peerId != null ? { peerId: e.peerId.toString() } : {}), ...(e.serial != null ? { serial: e.serial } : {}), reason: e.reason ?? '' }))
  }
}

/** Errors of the mesh packages that mean the caller's input was bad (400). */
const INPUT_ERRORS = new Set([
  'JobInputError', 'InvalidCidError', 'InvalidModelError', 'ExternalDataError', 'ForbiddenOperatorError',
  'ModelTooLargeError', 'InvalidTensorError', 'MessageTooLargeError', 'InvalidJobError', 'InvalidQueryError', 'PartitionError',
  'StateError', 'GenerationError', 'SamplerError', 'SessionRequestError'
])

/**
 * The status of a session failure: bad step inputs 400, a closed session
 * 409, too many sessions 429, no worker to lease 503, a stage that failed
 * on its worker 502; undefined for other errors.
 */
function sessionStatus (err: any): number | undefined {
  if (err?.name === 'TooManySessionsError') return 429
  if (err?.name === 'NoBidsError') return 503
  if (err?.name !== 'SessionError' || typeof err?.code !== 'string') return undefined
  if (err.code === 'ERR_SESSION_INPUT' || err.code === 'ERR_SESSION_STATE') return 400
  if (err.code === 'ERR_SESSION_CLOSED') return 409
  return 502
}

/** Converts a value to plain JSON: bigint → number, bytes → hex, Map → object, PeerId-like → string. */
export function jsonSafe (value: unknown, depth = 0): unknown {
  if (depth > 12) return undefined
  if (typeof value === 'bigint') return Number(value)
  if (value == null || typeof value !== 'object') return typeof value === 'function' ? undefined : value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')
  if (Array.isArray(value)) return value.map(v => jsonSafe(v, depth + 1))
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), jsonSafe(v, depth + 1)]))
  if (value instanceof Set) return [...value].map(v => jsonSafe(v, depth + 1))
  const v = value as any
  if (typeof v.toMultihash === 'function' && typeof v.toString === 'function') return v.toString()
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    const safe = jsonSafe(x, depth + 1)
    if (safe !== undefined) out[k] = safe
  }
  return out
}

const jobBody = z.strictObject({
  model: z.string().min(1),
  inputs: z.string().min(1).regex(/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/, 'expected base64'),
  mode: z.enum(['data', 'pipeline']).default('data'),
  shards: z.number().int().min(1).max(1024).optional(),
  stages: z.number().int().min(1).max(64).optional(),
  microBatch: z.number().int().min(1).optional(),
  maxPrice: z.number().positive(),
  deadlineMs: z.number().int().positive().optional(),
  graceMs: z.number().int().min(0).max(3_600_000).optional(),
  region: z.string().min(1).optional(),
  jurisdiction: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a jurisdiction is 1..32 lowercase letters, digits or dashes, e.g. eu').optional()
})

const vehicleBody = z.strictObject({
  state: z.enum(['parked', 'charging', 'driving']),
  soc: z.number().min(0).max(1).optional(),
  batteryTempC: z.number().optional()
})

function tokenDigest (t: string): Buffer {
  return createHash('sha256').update(t).digest()
}

function intParam (value: unknown, name: string, min: number, max: number): number | undefined {
  if (value == null || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`query parameter "${name}": expected an integer ${min}..${max}, got ${JSON.stringify(value)}`)
  return n
}

function peerParam (value: unknown, name: string): string | undefined {
  if (value == null || value === '') return undefined
  if (typeof value !== 'string') throw badRequest(`query parameter "${name}": expected one PeerId`)
  try {
    return peerIdFromString(value).toString()
  } catch {
    throw badRequest(`query parameter "${name}": ${JSON.stringify(value.slice(0, 80))} is not a PeerId`)
  }
}

/**
 * The addresses a peer listens on (from identify, in the peer store); the
 * address of a connection it dialled is its ephemeral source port, so it
 * is used only when the peer store has nothing.
 */
async function listenAddrs (node: MeshNode, p: { peerId: any, multiaddrs: Array<{ toString: () => string }> }): Promise<string[]> {
  try {
    const peer = await node.libp2p.peerStore.get(p.peerId)
    const addrs = peer.addresses.map(a => a.multiaddr.toString()).filter(a => !a.includes('/p2p-circuit'))
    if (addrs.length > 0) return addrs
  } catch {}
  return p.multiaddrs.map(String)
}

/**
 * Builds the API server (not yet listening): auth hook, JSON errors, the
 * routes, and the dashboard at `GET /`.
 */
export async function createApi (ctx: ApiContext): Promise<FastifyInstance> {
  const maxModelBytes = ctx.config.modelStore.maxModelBytes
  const maxInputBytes = ctx.config.inference.maxInputBytes ?? MAX_TENSOR_BYTES
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true })
  const expected = tokenDigest(ctx.token)

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxModelBytes }, (_req, body, done) => { done(null, body) })

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && req.url.split('?')[0] === '/') return
    const header = req.headers.authorization
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (m == null || !timingSafeEqual(tokenDigest(m[1] as string), expected)) {
      await reply.code(401).send({ error: { code: 'ERR_UNAUTHORIZED', message: m == null ? 'missing API token: send "Authorization: Bearer <token>" (the token is in <dataDir>/api-token)' : 'wrong API token: use the one in <dataDir>/api-token' } })
    }
  })

  app.setErrorHandler(async (err: any, _req, reply) => {
    let status = typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    let code: string = err?.name === 'HttpError' ? err.code : 'ERR_INTERNAL'
    let message: string = err?.message ?? String(err)
    if (err?.name !== 'HttpError') {
      const session = sessionStatus(err)
      if (session != null) {
        status = session
        code = String(err.code)
      } else if (INPUT_ERRORS.has(err?.name)) {
        status = err?.name === 'ModelTooLargeError' || err?.name === 'MessageTooLargeError' ? 413 : 400
        code = typeof err?.code === 'string' ? err.code : 'ERR_BAD_REQUEST'
      } else if (status === 413) {
        code = 'ERR_TOO_LARGE'
      } else if (status === 415) {
        code = 'ERR_UNSUPPORTED_MEDIA_TYPE'
        message = `${message}; send models as application/octet-stream and everything else as application/json`
      } else if (status === 400) {
        code = 'ERR_BAD_REQUEST'
      } else if (status === 404) {
        code = 'ERR_NOT_FOUND'
      }
    }
    await reply.code(status).send({ error: { code, message } })
  })

  app.setNotFoundHandler(async (req, reply) => {
    await reply.code(404).send({ error: { code: 'ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` } })
  })

  const { node } = ctx
  const ledger = (): Ledger => {
    const l = ctx.ledger()
    if (l == null) throw new HttpError(503, 'ERR_LEDGER_UNAVAILABLE', 'this node runs no ledger service')
    return l
  }

  app.get(`${API_PREFIX}/info`, async () => {
    const v = (ctx.vehicleSource ?? ctx.vehicle)?.current()
    const decision = v != null ? isWorkAllowed(v, ctx.config.worker.availability) : undefined
    return {
      peerId: node.peerId.toString(),
      role: node.role,
      region: node.region,
      multiaddrs: node.getMultiaddrs().map(String),
      version: ctx.version,
      startedAt: ctx.startedAt,
      uptimeMs: Date.now() - ctx.startedAt,
      worker: ctx.config.worker.enabled,
      ...(v != null && decision != null
        ? {
            vehicle: {
              source: ctx.config.vehicle.source ?? (ctx.config.vehicle.scripted ? 'scripted' : 'none'),
              state: v.unknown != null ? 'unknown' : v.drive,
              soc: Number.isFinite(v.soc) ? v.soc : null,
              batteryTempC: Number.isFinite(v.batteryTempC) ? v.batteryTempC : null,
              heardAt: v.heardAt ?? null,
              allowed: decision.allowed,
              reason: decision.reason,
              bidding: node.libp2p.services.market.isBidding()
            }
          }
        : {}),
      dashboardUrl: `${ctx.url()}/#token=${ctx.token}`
    }
  })

  app.get(`${API_PREFIX}/peers`, async () => ({
    peers: await Promise.all(node.peers().map(async p => {
      const measured = ctx.rtt?.(p.peerId.toString())
      return { peerId: p.peerId.toString(), role: p.role, region: p.region, owner: p.owner ?? '', rttMs: measured?.rttMs ?? p.rttMs ?? null, rttAt: measured?.at ?? null, multiaddrs: await listenAddrs(node, p) }
    }))
  }))

  // summaries (the full view of one job is GET /jobs/:id); ?since=<ms> gives only what changed, ?view=full every field
  app.get<{ Querystring: Record<string, string> }>(`${API_PREFIX}/jobs`, async (req) => {
    const q = req.query ?? {}
    const since = intParam(q.since, 'since', 0, Number.MAX_SAFE_INTEGER) ?? 0
    if (q.view != null && q.view !== 'summary' && q.view !== 'full') throw badRequest(`query parameter "view": expected summary or full, got ${JSON.stringify(String(q.view).slice(0, 40))}`)
    const changes = ctx.jobs.changes(since)
    const jobs = q.view === 'full' ? changes.jobs.map(j => ctx.jobs.get(j.jobId) ?? j) : changes.jobs
    return { ...changes, jobs, leases: jsonSafe(node.libp2p.services.market.heldLeases()) }
  })

  app.get<{ Querystring: Record<string, string> }>(`${API_PREFIX}/series`, async (req) => {
    const since = intParam(req.query?.since, 'since', 0, Number.MAX_SAFE_INTEGER) ?? 0
    return { now: Date.now(), samples: ctx.series?.since(since) ?? [] }
  })

  app.get(`${API_PREFIX}/leases`, async () => {
    const l = ctx.ledger()
    const self = node.peerId.toString()
    const signed = new Set<string>()
    if (l != null) for (const r of await l.receipts({ worker: self })) if (r.countersigned) signed.add(r.leaseId)
    return ctx.leaseLog?.views(signed) ?? { held: [], ended: [] }
  })

  app.get(`${API_PREFIX}/earnings/owners`, async () => ({ days: ownerEarningsByDay(await ledger().receipts()) }))

  app.post(`${API_PREFIX}/models`, { bodyLimit: maxModelBytes }, async (req, reply) => {
    if (!Buffer.isBuffer(req.body) || req.body.byteLength === 0) throw badRequest('expected the ONNX model bytes as the body (Content-Type: application/octet-stream)')
    const stored = await node.addModel(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength))
    await reply.code(201).send({ cid: stored.cid, bytes: stored.size })
  })

  app.post(`${API_PREFIX}/jobs`, { bodyLimit: Math.ceil(maxInputBytes * 4 / 3) + 64 * 1024 }, async (req, reply) => {
    const body = parseBody(jobBody, req.body)
    try { parseModelCid(body.model) } catch (err: any) { throw badRequest(`field "model": ${err?.message ?? err}`) }
    let inputs
    try {
      inputs = decodeTensors(Buffer.from(body.inputs, 'base64'), maxInputBytes)
    } catch (err: any) {
      throw badRequest(`field "inputs": not base64 of encodeTensors() bytes (${err?.message ?? err})`)
    }
    const store = node.modelStore
    if (store?.has(body.model) === true) checkInputs(inputs, store.info(body.model).info.inputs, maxInputBytes)
    const request: JobRequest = { ...body, inputs }
    const view = ctx.jobs.submit(request)
    await reply.code(202).send({ jobId: view.jobId })
  })

  app.get<{ Params: { id: string } }>(`${API_PREFIX}/jobs/:id`, async (req) => {
    const view = ctx.jobs.get(req.params.id)
    if (view == null) throw new HttpError(404, 'ERR_JOB_NOT_FOUND', `no job ${req.params.id} on this daemon`)
    return view
  })

  app.get<{ Params: { id: string } }>(`${API_PREFIX}/jobs/:id/result`, async (req, reply) => {
    const view = ctx.jobs.get(req.params.id)
    if (view == null) throw new HttpError(404, 'ERR_JOB_NOT_FOUND', `no job ${req.params.id} on this daemon`)
    if (view.state === 'running') throw new HttpError(409, 'ERR_JOB_RUNNING', `job ${view.jobId} is still running (${view.microBatches.done}/${view.microBatches.total} micro-batches); try again when its state is done`)
    const outputs = ctx.jobs.outputs(view.jobId)
    if (outputs == null) throw new HttpError(409, 'ERR_JOB_NOT_DONE', `job ${view.jobId} is ${view.state}${view.error != null ? `: ${view.error}` : ''}; it has no result`)
    await reply.type('application/octet-stream').send(Buffer.from(encodeTensors(outputs, Number.MAX_SAFE_INTEGER)))
  })

  app.delete<{ Params: { id: string } }>(`${API_PREFIX}/jobs/:id`, async (req) => {
    const view = ctx.jobs.get(req.params.id)
    if (view == null) throw new HttpError(404, 'ERR_JOB_NOT_FOUND', `no job ${req.params.id} on this daemon`)
    const cancelled = ctx.jobs.cancel(view.jobId)
    return { jobId: view.jobId, cancelled, state: view.state }
  })

  app.get<{ Querystring: Record<string, string> }>(`${API_PREFIX}/receipts`, async (req) => {
    const q = req.query ?? {}
    const query = {
      jobId: typeof q.jobId === 'string' && q.jobId !== '' ? q.jobId : undefined,
      worker: peerParam(q.worker, 'worker'),
      requester: peerParam(q.requester, 'requester'),
      limit: intParam(q.limit, 'limit', 1, 10_000) ?? 100
    }
    // the ledger lists oldest first; the API gives the newest `limit`, newest first
    const { limit, ...unlimited } = query
    const receipts = (await ledger().receipts(unlimited)).sort((a, b) => b.finishedAt - a.finishedAt).slice(0, limit)
    return { receipts: jsonSafe(receipts.map(r => { const { receipt: _raw, ...rest } = r as any; return rest })) }
  })

  app.get(`${API_PREFIX}/balances`, async () => jsonSafe(ledger().balances()))

  app.get<{ Querystring: Record<string, string> }>(`${API_PREFIX}/earnings`, async (req) => {
    const peer = peerParam(req.query?.peer, 'peer') ?? node.peerId.toString()
    return jsonSafe(ledger().earnings(peer))
  })

  app.post(`${API_PREFIX}/vehicle`, async (req) => {
    const body = parseBody(vehicleBody, req.body)
    const source = ctx.vehicle
    if (source == null) throw new HttpError(400, 'ERR_NOT_SCRIPTED_VEHICLE', `this daemon is a ${node.role}${node.role === 'vehicle' ? ' whose state comes from its telematics' : ''}, not a scripted vehicle: start a vehicle with vehicle.scripted = true`)
    const now = source.current()
    source.set({ drive: body.state, soc: body.soc ?? now.soc, batteryTempC: body.batteryTempC ?? now.batteryTempC })
    const v = source.current()
    return { state: v.drive, soc: v.soc, batteryTempC: v.batteryTempC }
  })

  app.get(`${API_PREFIX}/revocations`, async () => ({ lists: node.revocationLists().map(revocationView) }))

  // a signed list from `fleetmesh authority revoke`: applied at once (revoked peers dropped), stored, gossiped and pushed to the fleet
  app.post(`${API_PREFIX}/revocations`, { bodyLimit: MAX_REVOCATION_LIST_BYTES }, async (req, reply) => {
    if (!Buffer.isBuffer(req.body) || req.body.byteLength === 0) throw badRequest('expected a signed revocation list (the file `fleetmesh authority revoke` writes) as the body (Content-Type: application/octet-stream)')
    const before = new Set(node.libp2p.services.admission.admitted().map(c => c.peerId.toString()))
    let list
    try {
      list = await node.revoke(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength))
    } catch (err: any) {
      if (err?.name === 'StaleRevocationListError') throw new HttpError(409, err.code, `${err.message}; this daemon holds that list or a newer one`)
      if (REVOCATION_INPUT_ERRORS.has(err?.name)) throw new HttpError(400, String(err.code ?? 'ERR_BAD_REQUEST'), String(err.message))
      throw err
    }
    const dropped = [...before].filter(p => !node.libp2p.services.admission.admitted().some(c => c.peerId.toString() === p))
    await reply.code(201).send({ ...revocationView(list), dropped })
  })

  app.post(`${API_PREFIX}/shutdown`, async (_req, reply) => {
    await reply.code(202).send({ stopping: true })
    setTimeout(ctx.shutdown, 20)
  })

  app.get('/metrics', async (_req, reply) => {
    await reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.text())
  })

  registerSessionRoutes(app, ctx)
  registerDashboard(app)
  return app
}
