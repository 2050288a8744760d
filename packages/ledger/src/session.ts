import { MAX_RECONCILE_ROUNDS, ReconcileMessage, ReconcileProtocolError } from '@fleetmesh/protocol'
import { ID_BYTES, RECONCILE_ENTRIES_PER_MESSAGE } from './constants.js'
import { chunks, concatIds, Reconciler } from './reconcile.js'
import { buf, toHex } from './signing.js'
import type { IdSet, ReconcileOptions } from './reconcile.js'

/**
 * One reconciliation session over any message transport: the range
 * rounds of {@link Reconciler} plus the exchange of the entries each side
 * lacks, in the same messages. Each `ReconcileMessage` carries ranges,
 * entries the receiver lacks, ids the sender wants, and `more` when the
 * sender still has entries queued. The initiator sends first; the
 * responder answers every message; the initiator closes the session when
 * its next message would be empty and the responder has nothing more.
 */

/** Where a session reads and writes whole messages. */
export interface SessionIo {
  /** the next message, or undefined at the end of the stream */
  read(): Promise<Uint8Array | undefined>
  write(bytes: Uint8Array): Promise<void>
}

/** What a session needs from the ledger. */
export interface SessionHooks {
  /** a snapshot of the ids this side holds (not changed during the session) */
  ids: IdSet
  /** the encoded entry of an id this side holds */
  getEntry(id: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined>
  /** verifies and stores an entry from the peer; throws if it is invalid */
  putEntry(bytes: Uint8Array): Promise<void>
}

/** Figures of one session. */
export interface SessionStats {
  /** messages sent */
  rounds: number
  /** bytes written (message bodies; the transport's framing adds ~3 bytes each) */
  bytesSent: number
  bytesReceived: number
  /** entries sent to the peer */
  entriesSent: number
  /** entries received and stored */
  entriesReceived: number
  /** received entries that did not verify */
  entriesRejected: number
}

export interface SessionOptions extends ReconcileOptions {
  /** entries per message @default RECONCILE_ENTRIES_PER_MESSAGE (2000) */
  entriesPerMessage?: number
  /** messages this side sends at most @default MAX_RECONCILE_ROUNDS (64) */
  maxRounds?: number
}

class SessionState {
  readonly reconciler: Reconciler
  readonly hooks: SessionHooks
  readonly stats: SessionStats = { rounds: 0, bytesSent: 0, bytesReceived: 0, entriesSent: 0, entriesReceived: 0, entriesRejected: 0 }
  private readonly sendQueue: Uint8Array[] = []
  private readonly queued = new Set<string>()
  private wants: Uint8Array[] = []
  private readonly wanted = new Set<string>()
  private readonly perMessage: number
  readonly maxRounds: number

  constructor (hooks: SessionHooks, options: SessionOptions) {
    this.hooks = hooks
    this.reconciler = new Reconciler(hooks.ids, options)
    this.perMessage = options.entriesPerMessage ?? RECONCILE_ENTRIES_PER_MESSAGE
    this.maxRounds = options.maxRounds ?? MAX_RECONCILE_ROUNDS
  }

  private queue (id: Uint8Array): void {
    const k = toHex(id)
    if (this.queued.has(k) || !this.hooks.ids.has(id)) return
    this.queued.add(k)
    this.sendQueue.push(id)
  }

  /** Processes a received message; returns the reply (not yet encoded). */
  async receive (bytes: Uint8Array): Promise<{ reply: ReconcileMessage, theirMore: boolean }> {
    this.stats.bytesReceived += bytes.byteLength
    let msg: ReconcileMessage
    try {
      msg = ReconcileMessage.decode(bytes)
    } catch (err: any) {
      throw new ReconcileProtocolError(`message does not decode: ${err?.message ?? err}`)
    }
    if (msg.entries.length > this.perMessage * 2) throw new ReconcileProtocolError(`${msg.entries.length} entries in one message`)
    if (msg.want.byteLength % ID_BYTES !== 0) throw new ReconcileProtocolError('want list is not a whole number of ids')
    for (const e of msg.entries) {
      try {
        await this.hooks.putEntry(e)
        this.stats.entriesReceived++
      } catch {
        this.stats.entriesRejected++
      }
    }
    const step = this.reconciler.reconcile(msg.ranges)
    for (const id of step.have) this.queue(id)
    for (const id of chunks(msg.want)) this.queue(id)
    for (const id of step.need) {
      const k = toHex(id)
      if (!this.wanted.has(k)) { this.wanted.add(k); this.wants.push(id) }
    }
    return { reply: await this.next(step.ranges), theirMore: msg.more }
  }

  /** The next message: given ranges, queued entries, pending wants. */
  async next (ranges: ReconcileMessage['ranges']): Promise<ReconcileMessage> {
    const entries: Uint8Array[] = []
    while (entries.length < this.perMessage && this.sendQueue.length > 0) {
      const id = this.sendQueue.shift() as Uint8Array
      const e = await this.hooks.getEntry(id)
      if (e != null) entries.push(e)
    }
    this.stats.entriesSent += entries.length
    const want = concatIds(this.wants)
    this.wants = []
    return { ranges, entries: entries.map(buf), want: buf(want), more: this.sendQueue.length > 0 }
  }

  encode (msg: ReconcileMessage): Uint8Array {
    const bytes = ReconcileMessage.encode(msg)
    this.stats.bytesSent += bytes.byteLength
    this.stats.rounds++
    if (this.stats.rounds > this.maxRounds) throw new ReconcileProtocolError(`session went past ${this.maxRounds} messages`)
    return bytes
  }
}

const isEmpty = (m: ReconcileMessage): boolean => m.ranges.length === 0 && m.entries.length === 0 && m.want.byteLength === 0 && !m.more

/** Runs the initiator's side of a session to its end. */
export async function initiateSession (io: SessionIo, hooks: SessionHooks, options: SessionOptions = {}): Promise<SessionStats> {
  const s = new SessionState(hooks, options)
  let msg: ReconcileMessage = { ranges: s.reconciler.initiate(), entries: [], want: new Uint8Array(0), more: false }
  while (true) {
    await io.write(s.encode(msg))
    const reply = await io.read()
    if (reply == null) throw new ReconcileProtocolError('the peer closed the session early')
    const { reply: next, theirMore } = await s.receive(reply)
    msg = next
    if (isEmpty(msg) && !theirMore) break
  }
  return s.stats
}

/** Runs the responder's side: answers every message until the initiator closes. */
export async function respondSession (io: SessionIo, hooks: SessionHooks, options: SessionOptions = {}): Promise<SessionStats> {
  const s = new SessionState(hooks, options)
  while (true) {
    const bytes = await io.read()
    if (bytes == null) break
    const { reply } = await s.receive(bytes)
    await io.write(s.encode(reply))
  }
  return s.stats
}
