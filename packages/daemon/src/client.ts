import { decodeTensors, encodeTensors } from '@fleetmesh/protocol'
import { ApiError, DaemonNotRunningError, UnauthorizedError } from './errors.js'
import { readApiAddress } from './files.js'
import type { JobSummary, JobView } from './jobs.js'
import type { SessionRequest, SessionView } from './sessions.js'
import type { GenerateInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

/** A revocation list a daemon holds (`GET /api/v1/revocations`). */
export interface RevocationView {
  /** the signing authority's id */
  authority: string
  sequence: number
  /** ms since the epoch */
  issuedAt: number
  /** revoked devices (PeerId) and certificates (serial) */
  entries: Array<{ peerId?: string, serial?: string, reason: string }>
}
/** `GET /api/v1/info`. */
export interface NodeInfo {
  peerId: string
  role: 'station' | 'vehicle'
  region: string
  multiaddrs: string[]
  version: string
  /** ms since the epoch */
  startedAt: number
  uptimeMs: number
  /** the node bids on offers and runs shards */
  worker: boolean
  /** vehicle workers: the state, where it comes from and whether the owner's rule lets the vehicle work now */
  vehicle?: {
    /** the configured state source */
    source: 'none' | 'scripted' | 'file' | 'http'
    /** `unknown` when the source has no state (none configured, nothing reported yet, an unreadable file) */
    state: 'parked' | 'charging' | 'driving' | 'unknown'
    /** 0..1; null when unknown */
    soc: number | null
    /** °C; null when unknown */
    batteryTempC: number | null
    /** ms since the epoch the source last heard from the vehicle; null for a scripted source or none yet */
    heardAt: number | null
    /** the owner's rule allows work in this state */
    allowed: boolean
    /** why (`driving`, `state source stale for 42 s`, `parked, SoC 80%`) */
    reason: string
    /** the market bids now (allowed, not draining) */
    bidding: boolean
  }
  /** the dashboard, with the token in the URL fragment */
  dashboardUrl: string
}

/** A row of `GET /api/v1/peers`. */
export interface PeerView {
  peerId: string
  role: 'station' | 'vehicle'
  region: string
  /** vehicle owner account from the certificate ('' if none) */
  owner: string
  /** last measured RTT, ms; null if not measured yet */
  rttMs: number | null
  /** when the daemon last measured it, ms since the epoch; null if it has not */
  rttAt: number | null
  /** the addresses the peer listens on */
  multiaddrs: string[]
}

/** Body of `POST /api/v1/jobs`, with the inputs as tensors (the client encodes them). */
export interface SubmitJobInit {
  /** model CID */
  model: string
  inputs: WireTensor[]
  /** @default 'data' */
  mode?: 'data' | 'pipeline'
  shards?: number
  stages?: number
  microBatch?: number
  /** most credits per compute unit */
  maxPrice: number
  /** time the job may take from submission, ms */
  deadlineMs?: number
  /** how long after the bid window a job with no acceptable bid may wait before it fails, ms @default the mesh's */
  graceMs?: number
  region?: string
  /** data residency: only workers certified in this jurisdiction @default none */
  jurisdiction?: string
}

/** Query of `GET /api/v1/receipts`. */
export interface ReceiptsQuery {
  jobId?: string
  worker?: string
  requester?: string
  limit?: number
}

/** Where to find a daemon. */
export interface ApiClientInit {
  /** base URL, e.g. `http://127.0.0.1:41234` */
  url: string
  token: string
  /** per-request timeout, ms @default 30000 */
  timeoutMs?: number
}

/**
 * A typed client of the daemon's local API: one method per route.
 *
 * Every method throws {@link DaemonNotRunningError} when nothing answers
 * (connection refused), {@link UnauthorizedError} on a wrong token (401),
 * and {@link ApiError} (with `status` and the daemon's `apiCode`) on any
 * other error reply.
 *
 * @example
 * ```TypeScript
 * const client = await ApiClient.fromDataDir('/var/lib/fleetmesh')
 * const { cid } = await client.uploadModel(modelBytes)
 * const { jobId } = await client.submit({ model: cid, inputs, maxPrice: 2 })
 * const outputs = await client.waitForResult(jobId)
 * ```
 */
export class ApiClient {
  readonly url: string
  private readonly token: string
  private readonly timeoutMs: number

  constructor (init: ApiClientInit) {
    this.url = init.url.replace(/\/+$/, '')
    this.token = init.token
    this.timeoutMs = init.timeoutMs ?? 30_000
  }

  /**
   * A client of the daemon running on `dataDir` (reads `api.json` and `api-token`).
   *
   * @throws DaemonNotRunningError if no daemon runs there
   */
  static async fromDataDir (dataDir: string, options: { timeoutMs?: number } = {}): Promise<ApiClient> {
    const { url, token } = await readApiAddress(dataDir)
    return new ApiClient({ url, token, timeoutMs: options.timeoutMs })
  }

  /** Sends a request; returns the raw response of a 2xx. @throws DaemonNotRunningError, UnauthorizedError, ApiError */
  async request (method: string, path: string, init: { json?: unknown, body?: Uint8Array, contentType?: string, timeoutMs?: number } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    let body: string | Uint8Array | undefined
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(init.json)
    } else if (init.body != null) {
      headers['content-type'] = init.contentType ?? 'application/octet-stream'
      body = init.body
    }
    let res: Response
    try {
      // timeoutMs 0: no timeout (a stream that lasts as long as it lasts)
      const timeoutMs = init.timeoutMs ?? this.timeoutMs
      res = await fetch(`${this.url}${path}`, { method, headers, body, signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined })
    } catch (err: any) {
      const code = err?.cause?.code ?? err?.code
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND') {
        throw new DaemonNotRunningError(`no fleetmesh daemon answers at ${this.url} (${String(code)}); start one with \`fleetmesh daemon\``)
      }
      if (err?.name === 'TimeoutError') throw new DaemonNotRunningError(`the daemon at ${this.url} did not answer ${method} ${path} within ${init.timeoutMs ?? this.timeoutMs} ms`)
      throw new DaemonNotRunningError(`cannot reach the daemon at ${this.url}: ${err?.cause?.message ?? err?.message ?? err}`)
    }
    if (res.ok) return res
    let code = 'ERR_HTTP'
    let message = `${method} ${path}: HTTP ${res.status}`
    try {
      const j: any = await res.json()
      if (typeof j?.error?.code === 'string') code = j.error.code
      if (typeof j?.error?.message === 'string') message = j.error.message
    } catch {}
    if (res.status === 401) throw new UnauthorizedError(`the daemon at ${this.url} refused the API token (${message}); use the token in <dataDir>/api-token`)
    throw new ApiError(message, res.status, code)
  }

  private async json<T> (method: string, path: string, json?: unknown): Promise<T> {
    const res = await this.request(method, path, json !== undefined ? { json } : {})
    return await res.json() as T
  }

  /** `GET /api/v1/info` */
  async info (): Promise<NodeInfo> { return this.json('GET', '/api/v1/info') }

  /** `GET /api/v1/peers` */
  async peers (): Promise<PeerView[]> { return (await this.json<{ peers: PeerView[] }>('GET', '/api/v1/peers')).peers }

  /** `GET /api/v1/jobs`: summaries of the submitted jobs, newest first, and the leases this node holds as a worker */
  async jobs (): Promise<{ jobs: JobSummary[], leases: Array<Record<string, unknown>>, total: number, now: number }> { return this.json('GET', '/api/v1/jobs') }

  /** `GET /api/v1/jobs/:id` */
  async job (jobId: string): Promise<JobView> { return this.json('GET', `/api/v1/jobs/${encodeURIComponent(jobId)}`) }

  /** `GET /api/v1/jobs/:id/result`: the output tensors. @throws ApiError 409 while the job runs or if it failed */
  async result (jobId: string): Promise<WireTensor[]> {
    const res = await this.request('GET', `/api/v1/jobs/${encodeURIComponent(jobId)}/result`)
    return decodeTensors(new Uint8Array(await res.arrayBuffer()), Number.MAX_SAFE_INTEGER)
  }

  /** `DELETE /api/v1/jobs/:id` */
  async cancel (jobId: string): Promise<{ jobId: string, cancelled: boolean, state: string }> { return this.json('DELETE', `/api/v1/jobs/${encodeURIComponent(jobId)}`) }

  /** `POST /api/v1/models`: stores and announces an ONNX model. */
  async uploadModel (bytes: Uint8Array): Promise<{ cid: string, bytes: number }> {
    const res = await this.request('POST', '/api/v1/models', { body: bytes })
    return await res.json() as { cid: string, bytes: number }
  }

  /** `GET /api/v1/revocations`: the revocation lists the daemon holds, one per authority. */
  async revocations (): Promise<RevocationView[]> { return (await this.json<{ lists: RevocationView[] }>('GET', '/api/v1/revocations')).lists }

  /**
   * `POST /api/v1/revocations`: applies a signed revocation list (the file
   * `fleetmesh authority revoke` writes) on the running daemon, which drops
   * the peers it revokes and spreads it to the fleet; `dropped` are the
   * PeerIds it disconnected.
   *
   * @throws ApiError 409 ERR_STALE_REVOCATION_LIST when the daemon holds that list or a newer one; 400 for a list it cannot verify
   */
  async applyRevocations (list: Uint8Array): Promise<RevocationView & { dropped: string[] }> {
    const res = await this.request('POST', '/api/v1/revocations', { body: list })
    return await res.json() as RevocationView & { dropped: string[] }
  }

  /** `POST /api/v1/jobs` */
  async submit (init: SubmitJobInit): Promise<{ jobId: string }> {
    const { inputs, ...rest } = init
    return this.json('POST', '/api/v1/jobs', { ...rest, mode: init.mode ?? 'data', inputs: Buffer.from(encodeTensors(inputs, Number.MAX_SAFE_INTEGER)).toString('base64') })
  }

  /**
   * Polls a job until it is no longer running, calling `onProgress` with each view.
   *
   * @returns the final view
   */
  async wait (jobId: string, options: { intervalMs?: number, onProgress?: (view: JobView) => void, signal?: AbortSignal } = {}): Promise<JobView> {
    while (true) {
      options.signal?.throwIfAborted()
      const view = await this.job(jobId)
      options.onProgress?.(view)
      if (view.state !== 'running') return view
      await new Promise(resolve => setTimeout(resolve, options.intervalMs ?? 250))
    }
  }

  /** `GET /api/v1/receipts` */
  async receipts (query: ReceiptsQuery = {}): Promise<Array<Record<string, any>>> {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v != null) qs.set(k, String(v))
    const s = qs.toString()
    return (await this.json<{ receipts: Array<Record<string, any>> }>('GET', `/api/v1/receipts${s === '' ? '' : `?${s}`}`)).receipts
  }

  /** `GET /api/v1/balances` (the ledger's `Balances`, JSON-safe) */
  async balances (): Promise<{ peers: Record<string, any>, owners: Record<string, any>, receipts: number }> { return this.json('GET', '/api/v1/balances') }

  /** `GET /api/v1/earnings?peer=` (default: the daemon's own node) */
  async earnings (peer?: string): Promise<{ worker: string, days: Array<Record<string, any>>, total: Record<string, any> }> {
    return this.json('GET', `/api/v1/earnings${peer != null ? `?peer=${encodeURIComponent(peer)}` : ''}`)
  }

  /** `POST /api/v1/vehicle`: sets a scripted vehicle's state. @throws ApiError 400 if the daemon is not a scripted vehicle */
  async setVehicle (state: { state: 'parked' | 'charging' | 'driving', soc?: number, batteryTempC?: number }): Promise<{ state: string, soc: number, batteryTempC: number }> {
    return this.json('POST', '/api/v1/vehicle', state)
  }

  /**
   * `POST /api/v1/sessions`: opens a stateful session; resolves once every
   * stage is leased (no client timeout: placing stages takes a bid window).
   */
  async openSession (init: SessionRequest): Promise<SessionView> {
    const { initialState, ...rest } = init
    const res = await this.request('POST', '/api/v1/sessions', { json: { ...rest, ...(initialState != null ? { initialState: Buffer.from(encodeTensors(initialState, Number.MAX_SAFE_INTEGER)).toString('base64') } : {}) }, timeoutMs: 0 })
    return await res.json() as SessionView
  }

  /** `GET /api/v1/sessions` (`open`: the open ones only), newest first, without event logs */
  async sessions (options: { open?: boolean } = {}): Promise<SessionView[]> {
    return (await this.json<{ sessions: SessionView[] }>('GET', `/api/v1/sessions${options.open === true ? '?open=1' : ''}`)).sessions
  }

  /** `GET /api/v1/sessions/:id` */
  async session (sessionId: string): Promise<SessionView> { return this.json('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}`) }

  /** `POST /api/v1/sessions/:id/step`: one step's non-state inputs in, its non-state outputs back. */
  async step (sessionId: string, inputs: WireTensor[]): Promise<WireTensor[]> {
    const res = await this.request('POST', `/api/v1/sessions/${encodeURIComponent(sessionId)}/step`, { json: { inputs: Buffer.from(encodeTensors(inputs, Number.MAX_SAFE_INTEGER)).toString('base64') }, timeoutMs: 0 })
    const body = await res.json() as { outputs: string }
    return decodeTensors(Buffer.from(body.outputs, 'base64'), Number.MAX_SAFE_INTEGER)
  }

  /**
   * `POST /api/v1/sessions/:id/generate`: yields each token as the daemon
   * streams it (NDJSON).
   *
   * @throws ApiError for a bad request, or with the daemon's code when the generation fails midway
   */
  async * generate (sessionId: string, init: GenerateInit): AsyncGenerator<{ token: number, index: number, ms: number }> {
    const res = await this.request('POST', `/api/v1/sessions/${encodeURIComponent(sessionId)}/generate`, { json: init, timeoutMs: 0 })
    if (res.body == null) return
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true })
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl).trim()
        buffered = buffered.slice(nl + 1)
        if (text === '') continue
        const line = JSON.parse(text) as { token?: number, index?: number, ms?: number, done?: boolean, error?: { code: string, message: string } }
        if (line.error != null) throw new ApiError(line.error.message, 502, line.error.code)
        if (line.done === true) return
        yield { token: line.token as number, index: line.index as number, ms: line.ms as number }
      }
    }
    throw new ApiError(`the daemon ended the token stream of session ${sessionId} without its final line`, 502, 'ERR_STREAM_ENDED')
  }

  /** `DELETE /api/v1/sessions/:id`: closes and settles the session; its view with the summary */
  async closeSession (sessionId: string): Promise<SessionView> { return this.json('DELETE', `/api/v1/sessions/${encodeURIComponent(sessionId)}`) }

  /** `POST /api/v1/shutdown`: the daemon drains and exits */
  async shutdown (): Promise<void> { await this.request('POST', '/api/v1/shutdown') }

  /** `GET /metrics`: Prometheus text */
  async metrics (): Promise<string> { return (await this.request('GET', '/metrics')).text() }
}
