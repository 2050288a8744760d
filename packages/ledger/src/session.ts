import { MAX_RECONCILE_ROUNDS, MAX_RECONCILE_SYMBOLS, ReconcileMessage, ReconcileProtocolError } from '@fleetmesh/protocol'
import { ID_BYTES, RECONCILE_ENTRIES_PER_MESSAGE, RECONCILE_SYMBOLS_FIRST, RECONCILE_SYMBOLS_GROWTH, RECONCILE_SYMBOLS_PER_MESSAGE, RECONCILE_SYMBOLS_SWITCH, RECONCILE_VERIFY_CONCURRENCY } from './constants.js'
import { SYMBOL_BYTES, SymbolDecoder, SymbolEncoder } from './iblt.js'
import { chunks, concatIds, Reconciler } from './reconcile.js'
import { buf, toHex } from './signing.js'
import type { IdSet, ReconcileOptions } from './reconcile.js'

/**
 * One reconciliation session over any message transport, in one of two
 * modes, plus the exchange of the entries each side lacks in the same
 * messages. Each `ReconcileMessage` carries ranges or coded symbols,
 * entries the receiver lacks, ids the sender wants, and `more` when the
 * sender still has entries queued. The initiator sends first; the
 * responder answers every message; the initiator closes the session when
 * its next message would be empty and the responder has nothing more.
 *
 * - Ranges ({@link Reconciler}): the initiator's first message holds
 *   fingerprints of `branching` ranges of the whole id space. When few of
 *   them differ (near-identical sets) the sides keep splitting ranges:
 *   cheap for a handful of differences.
 * - Coded symbols (rateless IBLT, `iblt.ts`): when at least
 *   `symbolsSwitch` of those first ranges differ, the responder answers
 *   with a window of coded symbols of its set instead; the initiator
 *   peels them against its own and asks for `symbolsGrowth` × as many
 *   until it has decoded the whole difference (about 1.35–1.85 symbols of
 *   44 bytes per difference, one round trip per window). If the symbols
 *   needed would pass half of both sets' sizes (sets that share little),
 *   the initiator starts over with ranges only, which then cost about one
 *   32-byte id per id.
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
  /** coded symbols sent plus received (0 when the session used ranges only) */
  symbols: number
  /** how the difference was found */
  mode: 'ranges' | 'symbols'
}

export interface SessionOptions extends ReconcileOptions {
  /** entries per message @default RECONCILE_ENTRIES_PER_MESSAGE (2000) */
  entriesPerMessage?: number
  /** messages this side sends at most @default MAX_RECONCILE_ROUNDS (64) */
  maxRounds?: number
  /** responder: differing first ranges (of `branching`) from which it answers with coded symbols; 0 never @default RECONCILE_SYMBOLS_SWITCH (8) */
  symbolsSwitch?: number
  /** coded symbols in the first window @default RECONCILE_SYMBOLS_FIRST (128) */
  symbolsFirst?: number
  /** factor from one window's total to the next @default RECONCILE_SYMBOLS_GROWTH (1.5) */
  symbolsGrowth?: number
}

class SessionState {
  readonly reconciler: Reconciler
  readonly hooks: SessionHooks
  readonly stats: SessionStats = { rounds: 0, bytesSent: 0, bytesReceived: 0, entriesSent: 0, entriesReceived: 0, entriesRejected: 0, symbols: 0, mode: 'ranges' }
  private readonly sendQueue: Uint8Array[] = []
  private readonly queued = new Set<string>()
  private wants: Uint8Array[] = []
  private readonly wanted = new Set<string>()
  private readonly perMessage: number
  readonly maxRounds: number
  private readonly options: SessionOptions
  private received = 0
  private peerSize = 0
  private encoder?: SymbolEncoder
  private decoder?: SymbolDecoder
  private symbolsSent = 0
  /** the latest received message's entries being verified and stored */
  private storing: Promise<void> = Promise.resolve()

  constructor (hooks: SessionHooks, options: SessionOptions) {
    this.hooks = hooks
    this.options = options
    this.reconciler = new Reconciler(hooks.ids, options)
    this.perMessage = options.entriesPerMessage ?? RECONCILE_ENTRIES_PER_MESSAGE
    this.maxRounds = options.maxRounds ?? MAX_RECONCILE_ROUNDS
  }

  /** Responder: coded symbols of this side's set from where it stopped up to `end`, at most one message's worth. */
  private symbols (end: number): { symbols: Uint8Array<ArrayBuffer>, symbolStart: number } {
    if (end > MAX_RECONCILE_SYMBOLS) throw new ReconcileProtocolError(`${end} coded symbols asked for, over ${MAX_RECONCILE_SYMBOLS}`)
    this.encoder ??= new SymbolEncoder(this.hooks.ids.words())
    const start = this.symbolsSent
    const stop = Math.min(end, start + RECONCILE_SYMBOLS_PER_MESSAGE)
    this.symbolsSent = Math.max(start, stop)
    this.stats.symbols += Math.max(0, stop - start)
    this.stats.mode = 'symbols'
    return { symbols: buf(stop > start ? this.encoder.encode(start, stop) : new Uint8Array(0)), symbolStart: start }
  }

  /** Initiator: peels received coded symbols; returns what the reply asks for. */
  private decode (msg: ReconcileMessage): { symbolsWanted: number, restart: boolean } {
    this.decoder ??= new SymbolDecoder(this.hooks.ids.words(), MAX_RECONCILE_SYMBOLS)
    this.stats.mode = 'symbols'
    this.stats.symbols += msg.symbols.byteLength / SYMBOL_BYTES
    const state = this.decoder.add(msg.symbolStart, msg.symbols)
    if (state.complete) {
      for (const id of state.localOnly) this.queue(id)
      for (const id of state.remoteOnly) this.wish(id)
      return { symbolsWanted: 0, restart: false }
    }
    const next = Math.ceil(state.received * (this.options.symbolsGrowth ?? RECONCILE_SYMBOLS_GROWTH))
    // sets that share little: ranges (≈ one id per id) are cheaper than ~1.85 symbols per difference
    const cap = Math.min(MAX_RECONCILE_SYMBOLS, Math.max(1024, Math.ceil((this.hooks.ids.size + this.peerSize) / 2)))
    if (next > cap) return { symbolsWanted: 0, restart: true }
    return { symbolsWanted: next, restart: false }
  }

  private wish (id: Uint8Array): void {
    const k = toHex(id)
    if (!this.wanted.has(k)) { this.wanted.add(k); this.wants.push(id) }
  }

  private queue (id: Uint8Array): void {
    const k = toHex(id)
    if (this.queued.has(k) || !this.hooks.ids.has(id)) return
    this.queued.add(k)
    this.sendQueue.push(id)
  }

  /** Verifies and stores received entries, at most RECONCILE_VERIFY_CONCURRENCY at once (signature checks run in the thread pool, kept busy). */
  private async store (entries: Uint8Array[]): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const e = entries[next++] as Uint8Array
        try {
          await this.hooks.putEntry(e)
          this.stats.entriesReceived++
        } catch {
          this.stats.entriesRejected++
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(RECONCILE_VERIFY_CONCURRENCY, entries.length) }, async () => worker()))
  }

  /**
   * Processes a received message; returns the reply (not yet encoded) and
   * `stored`, which resolves once the message's entries are verified and
   * stored: the reply does not depend on them, so a side sends it first
   * and verifies while the peer works on it.
   */
  async receive (bytes: Uint8Array): Promise<{ reply: ReconcileMessage, theirMore: boolean, stored: Promise<void> }> {
    const { reply, theirMore } = await this.answer(bytes)
    return { reply, theirMore, stored: this.storing }
  }

  private async answer (bytes: Uint8Array): Promise<{ reply: ReconcileMessage, theirMore: boolean }> {
    this.stats.bytesReceived += bytes.byteLength
    let msg: ReconcileMessage
    try {
      msg = ReconcileMessage.decode(bytes)
    } catch (err: any) {
      throw new ReconcileProtocolError(`message does not decode: ${err?.message ?? err}`)
    }
    if (msg.entries.length > this.perMessage * 2) throw new ReconcileProtocolError(`${msg.entries.length} entries in one message`)
    if (msg.want.byteLength % ID_BYTES !== 0) throw new ReconcileProtocolError('want list is not a whole number of ids')
    this.storing = msg.entries.length > 0 ? this.store(msg.entries) : Promise.resolve()
    for (const id of chunks(msg.want)) this.queue(id)
    const first = this.received++ === 0
    if (first) this.peerSize = Number(msg.setSize)
    if (msg.symbols.byteLength > 0) {
      const { symbolsWanted, restart } = this.decode(msg)
      const reply = await this.next(restart ? this.reconciler.initiate() : [])
      return { reply: { ...reply, symbolsWanted, rangesOnly: restart }, theirMore: msg.more }
    }
    if (msg.symbolsWanted > 0) {
      const reply = await this.next([])
      return { reply: { ...reply, ...this.symbols(msg.symbolsWanted) }, theirMore: msg.more }
    }
    const step = this.reconciler.reconcile(msg.ranges)
    const switchAt = this.options.symbolsSwitch ?? RECONCILE_SYMBOLS_SWITCH
    if (first && !msg.rangesOnly && switchAt > 0 && step.differing >= switchAt) {
      // many differences: answer with coded symbols instead of splitting every range
      const reply = await this.next([])
      return { reply: { ...reply, ...this.symbols(this.options.symbolsFirst ?? RECONCILE_SYMBOLS_FIRST), setSize: BigInt(this.hooks.ids.size) }, theirMore: msg.more }
    }
    for (const id of step.have) this.queue(id)
    for (const id of step.need) this.wish(id)
    const reply = await this.next(step.ranges)
    return { reply: first ? { ...reply, setSize: BigInt(this.hooks.ids.size) } : reply, theirMore: msg.more }
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
    return { ranges, entries: entries.map(buf), want: buf(want), more: this.sendQueue.length > 0, symbols: new Uint8Array(0), symbolStart: 0, symbolsWanted: 0, setSize: 0n, rangesOnly: false }
  }

  encode (msg: ReconcileMessage): Uint8Array {
    const bytes = ReconcileMessage.encode(msg)
    this.stats.bytesSent += bytes.byteLength
    this.stats.rounds++
    if (this.stats.rounds > this.maxRounds) throw new ReconcileProtocolError(`session went past ${this.maxRounds} messages`)
    return bytes
  }
}

const isEmpty = (m: ReconcileMessage): boolean => m.ranges.length === 0 && m.entries.length === 0 && m.want.byteLength === 0 && !m.more && m.symbols.byteLength === 0 && m.symbolsWanted === 0

/** Runs the initiator's side of a session to its end. */
export async function initiateSession (io: SessionIo, hooks: SessionHooks, options: SessionOptions = {}): Promise<SessionStats> {
  const s = new SessionState(hooks, options)
  let msg: ReconcileMessage = { ranges: s.reconciler.initiate(), entries: [], want: new Uint8Array(0), more: false, symbols: new Uint8Array(0), symbolStart: 0, symbolsWanted: 0, setSize: BigInt(hooks.ids.size), rangesOnly: false }
  let stored: Promise<void> = Promise.resolve()
  while (true) {
    await io.write(s.encode(msg))
    // the entries of the previous message are verified while the peer works on this one
    await stored
    const reply = await io.read()
    if (reply == null) throw new ReconcileProtocolError('the peer closed the session early')
    const r = await s.receive(reply)
    msg = r.reply
    stored = r.stored
    if (isEmpty(msg) && !r.theirMore) break
  }
  await stored
  return s.stats
}

/** Runs the responder's side: answers every message until the initiator closes. */
export async function respondSession (io: SessionIo, hooks: SessionHooks, options: SessionOptions = {}): Promise<SessionStats> {
  const s = new SessionState(hooks, options)
  while (true) {
    const bytes = await io.read()
    if (bytes == null) break
    const { reply, stored } = await s.receive(bytes)
    await io.write(s.encode(reply))
    // verified while the initiator works on the reply
    await stored
  }
  return s.stats
}
