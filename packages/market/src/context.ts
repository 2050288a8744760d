import type { MarketMetrics } from './metrics.js'
import type { MarketComponents, MarketEvents, MarketInit, MarketLedger } from './index.js'
import type { MarketBody, MarketBodyKind, ValidatedMarketMessage } from './messages.js'
import type { VerifiedCertificate } from '@fleetmesh/protocol'
import type { Logger, PeerId } from '@libp2p/interface'

/**
 * What the market service's parts (the requester side in requester.ts, the
 * worker side in worker.ts) get from the composing shell in market.ts: one
 * context object, not a list of arguments. The shell owns the topics, the
 * signing and the direct stream; the parts own their state.
 */

/** The market's timings, ms, with the `MarketInit` defaults applied. */
export interface MarketTimings {
  bidWindowMs: number
  reofferWindowMs: number
  heartbeatIntervalMs: number
  leaseTimeoutMs: number
  awardTimeoutMs: number
  directTimeoutMs: number
}

/** The shell's services to its parts. */
export interface MarketContext {
  readonly components: MarketComponents
  readonly init: MarketInit
  readonly log: Logger
  readonly timings: MarketTimings
  /** the market's counters (no-ops without a metrics component) */
  readonly metrics: MarketMetrics
  /** this node's verified certificate (set once the service started) */
  own(): VerifiedCertificate | undefined
  /** a bidder's reputation (PeerId string), 0..1: `MarketInit.reputation`, else the ledger component's, else DEFAULT_REPUTATION */
  reputation(peerId: string): number
  /** the ledger component, if the node runs one (read at start) */
  ledger(): MarketLedger | undefined
  /** true between start() and stop() */
  isStarted(): boolean
  /** dispatches a market event */
  emit<K extends keyof MarketEvents>(type: K, detail: MarketEvents[K]['detail']): void
  /** subscribes to a topic (reference counted) with the market's validator for `kind` messages of `region` */
  join(topic: string, kind: 'offer' | 'bid', region: string): void
  /** drops one reference to a topic; unsubscribes at zero */
  leave(topic: string): void
  /** signs and gossips a market message; a publish error is logged, never thrown */
  publish(topic: string, body: MarketBody): Promise<void>
  /**
   * Sends one signed market message to `peer` over the market stream and
   * returns its validated answer (one of `expect`, or an ack).
   *
   * @throws DirectExchangeError when the peer cannot be reached, times out, answers badly or refuses with a not-ok ack
   */
  exchange(peer: PeerId, body: MarketBody, expect: MarketBodyKind[], timeoutMs: number): Promise<ValidatedMarketMessage>
  /** opens a market stream to `peer` for the next award or heartbeat to it (kept-streams.ts); never throws */
  openKeptStream(peer: PeerId, signal: AbortSignal): Promise<void>
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}
