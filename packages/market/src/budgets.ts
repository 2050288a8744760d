/**
 * Per-peer budgets of the market (lodestar's rate limiter, in spirit): one
 * token bucket per peer and request type, and a concurrency count per peer
 * for the direct stream. Both tables are bounded: past `maxPeers` entries
 * the least recently used peer is forgotten (it starts again with a full
 * bucket, which costs an attacker as many identities as the table holds).
 * Pure: the clock is an argument.
 */

/** Rate of one request type, per peer. Plain data. */
export interface RateBudget {
  /** tokens refilled per second (sustained requests per second) */
  perSecond: number
  /** bucket size: requests accepted at once after a quiet spell */
  burst: number
}

interface Bucket {
  tokens: number
  /** ms since the epoch of the last refill */
  at: number
}

/**
 * Token buckets keyed by peer (PeerId string): `take(peer, now)` spends one
 * token, or says no when the peer is over its budget. At most `maxPeers`
 * buckets are kept (least recently used forgotten first).
 */
export class RateTable {
  private readonly buckets = new Map<string, Bucket>()
  readonly budget: Readonly<RateBudget>
  readonly maxPeers: number

  /**
   * @param budget - refill rate (per second) and bucket size; both > 0
   * @param maxPeers - buckets kept at most
   * @throws RangeError if the budget or maxPeers is not positive
   */
  constructor (budget: RateBudget, maxPeers: number) {
    if (!(budget.perSecond > 0) || !(budget.burst >= 1) || !(maxPeers >= 1)) {
      throw new RangeError(`a rate budget needs perSecond > 0, burst >= 1 and maxPeers >= 1 (got ${budget.perSecond}, ${budget.burst}, ${maxPeers})`)
    }
    this.budget = { ...budget }
    this.maxPeers = maxPeers
  }

  /** Spends one of `peer`'s tokens at `now` (ms): true if it had one, false if it is over its budget. */
  take (peer: string, now: number): boolean {
    let b = this.buckets.get(peer)
    if (b == null) {
      b = { tokens: this.budget.burst, at: now }
      if (this.buckets.size >= this.maxPeers) this.buckets.delete(this.buckets.keys().next().value as string)
    } else {
      this.buckets.delete(peer) // re-inserted below: most recently used last
    }
    this.buckets.set(peer, b)
    return takeToken(b, this.budget, now)
  }

  /** peers tracked now */
  get size (): number {
    return this.buckets.size
  }
}

/**
 * Requests in progress per peer: `acquire(peer)` takes a slot if the peer
 * holds fewer than `perPeer`, `release(peer)` gives it back. At most
 * `maxPeers` peers are tracked at once; a new peer past that is refused
 * until a slot frees (peers in the table all hold a request in progress,
 * so nothing can be forgotten).
 */
export class ConcurrencyTable {
  private readonly inFlight = new Map<string, number>()
  readonly perPeer: number
  readonly maxPeers: number

  /**
   * @param perPeer - requests in progress per peer at most, >= 1
   * @param maxPeers - peers with a request in progress at most, >= 1
   */
  constructor (perPeer: number, maxPeers: number) {
    if (!(perPeer >= 1) || !(maxPeers >= 1)) throw new RangeError(`a concurrency budget needs perPeer >= 1 and maxPeers >= 1 (got ${perPeer}, ${maxPeers})`)
    this.perPeer = perPeer
    this.maxPeers = maxPeers
  }

  /** Takes a slot for `peer`: false if it already holds `perPeer`, or the table is full. */
  acquire (peer: string): boolean {
    const n = this.inFlight.get(peer) ?? 0
    if (n >= this.perPeer) return false
    if (n === 0 && this.inFlight.size >= this.maxPeers) return false
    this.inFlight.set(peer, n + 1)
    return true
  }

  /** Gives back a slot taken with {@link acquire}. */
  release (peer: string): void {
    const n = this.inFlight.get(peer) ?? 0
    if (n <= 1) this.inFlight.delete(peer)
    else this.inFlight.set(peer, n - 1)
  }

  /** requests in progress for `peer` */
  held (peer: string): number {
    return this.inFlight.get(peer) ?? 0
  }

  /** peers with a request in progress */
  get size (): number {
    return this.inFlight.size
  }
}

/** The inbound request types a market node budgets, each per peer. */
export type MarketRequestType = 'offer' | 'bid' | 'award' | 'noBid' | 'direct'

/** The budgets of every inbound request type (see the MarketInit `budgets` field). Plain data. */
export interface MarketBudgets {
  /** gossiped offers per second, per requester (the offer's signer) */
  offer: RateBudget
  /** gossiped bids per second, per bidder (the bid's signer) */
  bid: RateBudget
  /** awards per second, per requester (direct stream) */
  award: RateBudget
  /** NoBids per second, per worker (direct stream) */
  noBid: RateBudget
  /** direct market messages of any kind per second, per peer */
  direct: RateBudget
  /** direct market streams in progress per peer */
  directConcurrency: number
  /** peers tracked per table (least recently used forgotten first) */
  maxPeers: number
}

/** One {@link RateTable} per request type and the direct-stream {@link ConcurrencyTable}. */
export class PeerBudgets {
  readonly rates: Readonly<Record<MarketRequestType, RateTable>>
  readonly directInFlight: ConcurrencyTable

  constructor (budgets: MarketBudgets) {
    this.rates = {
      offer: new RateTable(budgets.offer, budgets.maxPeers),
      bid: new RateTable(budgets.bid, budgets.maxPeers),
      award: new RateTable(budgets.award, budgets.maxPeers),
      noBid: new RateTable(budgets.noBid, budgets.maxPeers),
      direct: new RateTable(budgets.direct, budgets.maxPeers)
    }
    this.directInFlight = new ConcurrencyTable(budgets.directConcurrency, budgets.maxPeers)
  }

  /** Spends one `type` request of `peer` at `now` (ms); false when the peer is over that budget. */
  take (type: MarketRequestType, peer: string, now: number): boolean {
    return this.rates[type].take(peer, now)
  }
}

/**
 * Takes one token from a bucket refilled at `perSecond` tokens a second
 * up to `burst`, at `now` (ms); false when it is empty. Pure but for the
 * bucket it updates. The token bucket of every per-peer and
 * per-connection rate of the node (market budgets, the inference
 * worker's malformed-stream budget, the peer's inbound stream budget).
 */
export function takeToken (bucket: { tokens: number, at: number }, budget: { perSecond: number, burst: number }, now: number): boolean {
  bucket.tokens = Math.min(budget.burst, bucket.tokens + Math.max(0, now - bucket.at) * budget.perSecond / 1000)
  bucket.at = now
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}
