import { generateTokens } from '@fleetmesh/peer'
import { inferStatePairs } from '@fleetmesh/runtime'
import { logger } from '@libp2p/logger'
import { MAX_CLOSED_SESSIONS, MAX_OPEN_SESSIONS, MAX_SESSION_EVENTS, SESSION_STEP_SAMPLES } from './constants.js'
import { SessionRequestError, TooManySessionsError } from './errors.js'
import type { GenerateInit, InferenceSession, MeshNode, SessionProgress, SessionSummary, StatePair } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

const log = logger('fleetmesh:daemon:sessions')

/**
 * The stateful sessions this daemon opened for its API clients: opens each
 * through `node.openSession()`, follows its progress events, steps and
 * generates on it, and closes (settles) it on request or when the daemon
 * stops. Closed sessions are remembered (their summary) up to
 * {@link MAX_CLOSED_SESSIONS}.
 */

/** A session to open: the mesh's `SessionInit` with a model CID. */
export interface SessionRequest {
  /** model CID (uploaded with `POST /api/v1/models` or known to a provider) */
  model: string
  /** pipeline stages, one worker each @default 1 */
  stages?: number
  /** state pairs @default the pairs the model's names suggest (`inferStatePairs`: `present_*` → `past_*`, `*_out` → `*_in`) */
  state?: StatePair[]
  /** state before the first step @default zeros of the declared state shapes, symbolic dims 0 */
  initialState?: WireTensor[]
  /** most credits per compute unit (one step of one stage) */
  maxPrice: number
  /** the session's life from now, ms @default the mesh's (30 min) */
  deadlineMs?: number
  region?: string
  jurisdiction?: string
  /** steps between state snapshots; 0 = only when the replay log is half full @default 0 */
  snapshotEvery?: number
  /** most steps: the session's maximum cost (stages × maxSteps × maxPrice credits) is committed at its award @default the mesh's (1024) */
  maxSteps?: number
}

/** A worker of a session as the API shows it. */
export interface SessionWorkerView {
  stage: number
  /** worker PeerId string */
  peerId: string
  leaseId: string
}

/** A session as `GET /api/v1/sessions/:id` returns it. */
export interface SessionView {
  sessionId: string
  /** model CID */
  model: string
  stages: number
  state: 'open' | 'closing' | 'closed' | 'failed'
  /** ms since the epoch */
  openedAt: number
  updatedAt: number
  closedAt?: number
  /** steps run (replays of a recovery not counted) */
  steps: number
  /** tokens generated through `POST /sessions/:id/generate` */
  tokens: number
  /** workers lost and replaced */
  recoveries: number
  /** the stages' workers now */
  workers: SessionWorkerView[]
  /** the median and the last step's time, requester side, ms */
  stepMs?: { p50: number, last: number }
  /** `Name: message` of the failure that ended the session */
  error?: string
  /** what the session did, once closed */
  summary?: SessionSummary
  /** the last {@link MAX_SESSION_EVENTS} progress events, oldest first */
  events: SessionProgress[]
}

interface Entry {
  view: SessionView
  session: InferenceSession
  stepMs: number[]
}

/** The median of a list of numbers (0 for none). */
function median (values: number[]): number {
  if (values.length === 0) return 0
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export class SessionTracker {
  private readonly sessions = new Map<string, Entry>()
  private readonly node: MeshNode
  /** sessions being opened now */
  private opening = 0

  constructor (node: MeshNode) {
    this.node = node
  }

  /**
   * Opens a session on the mesh; resolves once every stage is leased and
   * ready.
   *
   * @throws TooManySessionsError beyond MAX_OPEN_SESSIONS open sessions
   * @throws SessionRequestError without state pairs when the model's names suggest none, or the model is not in this node's store to read them from
   * @throws the errors of `MeshNode.openSession` (SessionError, StateError, the market's NoBidsError, ...)
   */
  async open (req: SessionRequest): Promise<SessionView> {
    // sessions still being opened count too, so concurrent requests cannot pass the limit together
    const open = [...this.sessions.values()].filter(e => e.view.state === 'open' || e.view.state === 'closing').length + this.opening
    if (open >= MAX_OPEN_SESSIONS) throw new TooManySessionsError(`this daemon holds ${open} open sessions, its most (${MAX_OPEN_SESSIONS}); close one (DELETE /api/v1/sessions/:id) first`)
    const state = req.state ?? this.statePairs(req.model)
    this.opening++
    const session = await this.node.openSession({
      model: req.model,
      stages: req.stages,
      state,
      initialState: req.initialState,
      maxPrice: req.maxPrice,
      deadline: req.deadlineMs != null ? Date.now() + req.deadlineMs : undefined,
      region: req.region,
      jurisdiction: req.jurisdiction,
      snapshotEvery: req.snapshotEvery,
      maxSteps: req.maxSteps
    }).finally(() => { this.opening-- })
    const now = Date.now()
    const view: SessionView = {
      sessionId: session.id,
      model: req.model,
      stages: req.stages ?? 1,
      state: 'open',
      openedAt: now,
      updatedAt: now,
      steps: 0,
      tokens: 0,
      recoveries: 0,
      workers: session.leases.map(l => ({ stage: l.stage, peerId: l.worker, leaseId: l.leaseId })),
      events: []
    }
    const entry: Entry = { view, session, stepMs: [] }
    session.addEventListener('progress', (evt) => { this.onProgress(entry, evt.detail) })
    this.sessions.set(session.id, entry)
    this.prune()
    log('session %s open on %d stage(s)', session.id, view.stages)
    return view
  }

  /** The pairs the model's names suggest. @throws SessionRequestError */
  private statePairs (model: string): StatePair[] {
    const store = this.node.modelStore
    if (store?.has(model) !== true) throw new SessionRequestError(`model ${model} is not in this node's store, so its state pairs cannot be read from it; give "state" ([{ output, input }]) or upload the model first`)
    const pairs = inferStatePairs(store.info(model).info)
    if (pairs.length === 0) throw new SessionRequestError(`model ${model} has no output named like a state (present_<x> with an input past_<x>, or <x>_out with an input <x>_in); give "state" ([{ output, input }])`)
    return pairs
  }

  private onProgress (entry: Entry, p: SessionProgress): void {
    const { view } = entry
    view.events.push(p)
    if (view.events.length > MAX_SESSION_EVENTS) view.events.splice(0, view.events.length - MAX_SESSION_EVENTS)
    view.updatedAt = Date.now()
    view.workers = entry.session.leases.map(l => ({ stage: l.stage, peerId: l.worker, leaseId: l.leaseId }))
    view.steps = entry.session.steps
    if (p.type === 'step') {
      entry.stepMs.push(p.ms)
      if (entry.stepMs.length > SESSION_STEP_SAMPLES) entry.stepMs.shift()
      view.stepMs = { p50: median(entry.stepMs), last: p.ms }
    } else if (p.type === 'recovered') {
      view.recoveries++
    } else if (p.type === 'closed') {
      // closed by the mesh itself (the node stopping), or the end of close()
      view.summary = { id: p.sessionId, steps: p.steps, recoveries: p.recoveries, receipts: p.receipts }
      if (view.state === 'open' || view.state === 'closing') view.state = 'closed'
      view.closedAt ??= p.at
    }
  }

  /** One session; undefined if unknown (or forgotten). */
  get (sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId)?.view
  }

  /** Every session, newest first; `open` only the open ones. */
  list (options: { open?: boolean } = {}): SessionView[] {
    return [...this.sessions.values()].map(e => e.view)
      .filter(v => options.open !== true || v.state === 'open')
      .sort((a, b) => b.openedAt - a.openedAt)
  }

  /** The open session `sessionId`, or undefined if unknown; a closed one is returned too (its steps then fail with ERR_SESSION_CLOSED). */
  private entry (sessionId: string): Entry | undefined {
    return this.sessions.get(sessionId)
  }

  /**
   * Runs one step.
   *
   * @returns undefined if the session is unknown
   * @throws the session's errors (SessionError: ERR_SESSION_INPUT, ERR_SESSION_CLOSED, …); a failure other than bad input ends the session as `failed`
   */
  async step (sessionId: string, inputs: WireTensor[]): Promise<WireTensor[] | undefined> {
    const entry = this.entry(sessionId)
    if (entry == null) return undefined
    try {
      return await entry.session.step(inputs)
    } catch (err) {
      this.failed(entry, err)
      throw err
    } finally {
      entry.view.steps = entry.session.steps
    }
  }

  /**
   * Generates tokens on a session (`generateTokens(session, init)`),
   * counting them into its view.
   *
   * @returns undefined if the session is unknown
   */
  generate (sessionId: string, init: GenerateInit): AsyncIterable<number> | undefined {
    const entry = this.entry(sessionId)
    if (entry == null) return undefined
    // generateTokens over the session's step() is what `session.generate()` is (greedy or seeded top-k)
    const tokens = generateTokens(entry.session, init)
    const self = this
    return (async function * () {
      try {
        for await (const t of tokens) {
          entry.view.tokens++
          entry.view.updatedAt = Date.now()
          yield t
        }
      } catch (err) {
        self.failed(entry, err)
        throw err
      }
    })()
  }

  /** A step failed: bad input leaves the session open, anything else ends it. */
  private failed (entry: Entry, err: any): void {
    if (['ERR_SESSION_INPUT', 'ERR_GENERATION', 'ERR_SAMPLER'].includes(err?.code) || ['GenerationError', 'SamplerError', 'StateError'].includes(err?.name)) return
    if (entry.view.state !== 'open') return
    entry.view.state = 'failed'
    entry.view.error = `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`
    entry.view.updatedAt = Date.now()
    log.error('session %s failed - %s', entry.view.sessionId, entry.view.error)
    // a failed session still settles what it served
    void this.close(entry.view.sessionId).catch(() => {})
  }

  /**
   * Closes a session: the mesh settles one receipt per lease for the steps
   * served. Idempotent.
   *
   * @returns undefined if the session is unknown
   */
  async close (sessionId: string): Promise<SessionView | undefined> {
    const entry = this.entry(sessionId)
    if (entry == null) return undefined
    const { view } = entry
    if (view.state === 'open') view.state = 'closing'
    const summary = await entry.session.close()
    view.summary = summary
    view.steps = summary.steps
    view.recoveries = summary.recoveries
    if (view.state === 'closing') view.state = 'closed'
    view.closedAt ??= Date.now()
    view.updatedAt = Date.now()
    this.prune()
    return view
  }

  /** Closes every open session (the daemon is stopping). */
  async stop (): Promise<void> {
    await Promise.all([...this.sessions.values()].filter(e => e.view.state === 'open' || e.view.state === 'closing').map(async e => this.close(e.view.sessionId).catch((err: any) => {
      log.error('closing session %s failed - %s', e.view.sessionId, err?.message ?? err)
    })))
  }

  private prune (): void {
    const closed = [...this.sessions.values()].filter(e => e.view.state === 'closed' || e.view.state === 'failed').sort((a, b) => a.view.openedAt - b.view.openedAt)
    for (const e of closed.slice(0, Math.max(0, closed.length - MAX_CLOSED_SESSIONS))) this.sessions.delete(e.view.sessionId)
  }
}
