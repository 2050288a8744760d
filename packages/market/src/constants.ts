/**
 * Defaults of the market service. Each one is the `@default` of a
 * {@link MarketInit} field (or of a policy field) and is documented there.
 * Where a value comes from is stated beside it.
 */

/**
 * How long a requester collects bids after publishing an offer, ms.
 * Gossip to a region's peers takes 5–12 ms median on loopback and a few
 * hundred ms across cellular links (DESIGN.md "Platform facts"); 500 ms
 * leaves room for workers to price and answer.
 */
export const BID_WINDOW_MS = 500

/** How long a requester waits for more bids after a re-offer, ms (same reasoning as BID_WINDOW_MS). */
export const REOFFER_WINDOW_MS = 500

/** Interval between a requester's heartbeats to each worker holding a lease, ms. */
export const HEARTBEAT_INTERVAL_MS = 1000

/**
 * A lease is dead when no heartbeat got through for this long, ms (both
 * sides: the requester re-awards the shard, the worker drops it). Three
 * heartbeat intervals: one lost heartbeat is not churn. Time a node's own
 * event loop was held (a synchronous load, a process not scheduled) is
 * not counted (`LoopStall`); an answer slower than this minus one
 * interval still ends the lease.
 */
export const LEASE_TIMEOUT_MS = 3000

/**
 * Longest a worker waits, once a lease ended early (drained, expired,
 * handed back), for the lease handler to settle before it sends the
 * Release, ms: what the handler sends the requester on its own streams as
 * the lease ends (a session stage's receipt for the steps it ran) goes
 * ahead of the Release, which would otherwise make the requester drop
 * those streams first. Two heartbeat intervals (HEARTBEAT_INTERVAL_MS):
 * the requester hears of the end within them either way.
 */
export const RELEASE_FLUSH_MS = 2000

/** How long a requester waits for an Accept/Decline to an Award, ms. */
export const AWARD_TIMEOUT_MS = 5000

/** Timeout of every other direct market stream exchange, ms. */
export const DIRECT_TIMEOUT_MS = 5000

/**
 * How long a requester keeps an unused market stream to a worker open for
 * its next message (the lease's award or heartbeat), ms. Under
 * DIRECT_TIMEOUT_MS, the worker's wait for a next message on the stream,
 * so that the requester always closes first; over HEARTBEAT_INTERVAL_MS, so
 * that a lease's heartbeats keep reusing one stream. The shell uses
 * `min(KEPT_STREAM_IDLE_MS, directTimeoutMs / 2)`.
 */
export const KEPT_STREAM_IDLE_MS = 2000

/** Unused market streams a node keeps per peer (a second one covers an award sent while a heartbeat is in flight). */
export const KEPT_STREAMS_PER_PEER = 2

/** Unused market streams a node keeps in all. */
export const MAX_KEPT_STREAMS = 256

/** Lifetime of a gossiped offer or bid and of direct messages, ms (the replay window covers it). */
export const MESSAGE_TTL_MS = 60_000

/**
 * How long a shard may stay unplaced before its job fails, ms, counted
 * from the end of the first bid window (or from when a lost lease left
 * the shard open): the job then fails with NoBidsError (JobFailedError
 * for a shard that had lost its lease) instead of re-offering until its
 * deadline. While a bidder of the job holds one of its leases (its
 * capacity frees up when that shard completes) the timeout starts again.
 * Re-offers wait REOFFER_WINDOW_MS doubling each round (500,
 * 1000, 2000, 4000 ms: 7.5 s), so 10 s leaves four re-offer rounds plus
 * gossip across cellular links (a few hundred ms) for a worker that frees
 * up or joins.
 */
export const PLACEMENT_TIMEOUT_MS = 10_000

/** Most refusals (NoBid) a requester keeps per job, one per worker: a region's workers fit many times over. */
export const MAX_REFUSALS_PER_JOB = 1024

/** Job deadline when a job spec gives none: 5 minutes from submission, ms. */
export const JOB_DEADLINE_MS = 5 * 60_000

/** Replay-window entries kept at most; the oldest expire first. 100k entries ≈ 10 MB. */
export const MAX_REPLAY_ENTRIES = 100_000

/**
 * Score weights (see `scoreBid`): price, latency and reputation are each
 * normalised to about 0..1, so equal weights value "asks the full max
 * price", "takes the job's whole time budget" and "reputation 0" equally.
 */
export const PRICE_WEIGHT = 1
/** @see PRICE_WEIGHT */
export const LATENCY_WEIGHT = 1
/** @see PRICE_WEIGHT */
export const REPUTATION_WEIGHT = 1

/** RTT assumed for a bidder that could not be pinged, ms (a slow cellular round trip). */
export const UNKNOWN_RTT_MS = 500

/**
 * Bidders a requester may dial per open slot during a job's bid window, ahead
 * of their award (dialLikelyWinners: the bids planAwards would take as they
 * come in). A vehicle's bid reaches the requester through a station, so the
 * award to it paid a dial and an admission handshake after the window
 * (bench/scale, 200 nodes: the award sent at the window's end, the worker's
 * accept read 300-750 ms later); 2 per slot covers a winner displaced by a
 * later, better bid without dialling every bidder.
 */
export const PREDIALS_PER_SLOT = 2

/** Reputation of a peer when no reputation source is given (neither `MarketInit.reputation` nor a ledger component). */
export const DEFAULT_REPUTATION = 1

/** Base price a worker asks, credits per compute unit. */
export const BASE_PRICE_PER_UNIT = 1

/** Load factor of the price policy: the price rises by this fraction at full load. */
export const LOAD_FACTOR = 0.5

/** Shards a worker holds at once (all jobs together). */
export const MAX_CONCURRENT_LEASES = 4

/**
 * The share of a worker's leases one requester may hold at once: at most
 * `ceil(REQUESTER_LEASE_SHARE × maxConcurrentLeases)` (3 of the default
 * 4; all of 1, 2 or 3), so an admitted requester that awards and
 * heartbeats as many leases as it can (bench/adversary's award flood)
 * never holds all of a worker of 4 or more, and another requester's job
 * still finds a place there, while a small worker still serves one
 * requester with all it has. Past the share the worker sends NoBid
 * `REQUESTER_LIMIT` and declines the requester's further awards.
 */
export const REQUESTER_LEASE_SHARE = 0.75

/** ms per compute unit a worker estimates when the integrator gives no throughput profile. */
export const DEFAULT_MS_PER_UNIT = 10

/** Setup ms a worker estimates for a model it has not cached (fetch and load). */
export const DEFAULT_UNCACHED_SETUP_MS = 2000

/** Power one running shard draws on a station, kW (an inference accelerator at full load). */
export const POWER_PER_LEASE_KW = 0.5

/** Vehicle owner policy: minimum state of charge for work while parked, 0..1. */
export const MIN_PARKED_SOC = 0.5

/** Vehicle owner policy: highest battery temperature for work, °C. */
export const MAX_BATTERY_TEMP_C = 45

/** Inbound/outbound market streams per connection. */
export const MAX_MARKET_STREAMS = 32

/** Largest result a lease handler may return, bytes (fits MAX_MARKET_DIRECT_BYTES with the header). */
export const MAX_RESULT_BYTES = 1024 * 1024 - 4096

/** Most job/lease state events kept in `events()` history per job. */
export const MAX_JOB_HISTORY = 1000

/**
 * Vehicle owner policy: a state source that has not heard from the vehicle
 * for longer than this counts as stale and the vehicle stops working, ms.
 * A telematics bridge reports every few seconds; 30 s tolerates a few
 * missed reports before a vehicle that may be driving off is drained.
 */
export const MAX_STATE_STALE_MS = 30_000

/**
 * Longest heartbeat timeout a worker grants a lease, ms, whatever the
 * award asks (`Award.leaseTimeoutMs`): a requester that stops
 * heartbeating loses the lease within this long, and the worker's
 * capacity is free again. Ten default heartbeat intervals
 * (HEARTBEAT_INTERVAL_MS) leave room for slow cellular links.
 */
export const MAX_LEASE_TIMEOUT_MS = 10_000

/**
 * A lease that has not had its first heartbeat ends after this (or its
 * heartbeat timeout, if shorter), ms: a requester heartbeats every
 * HEARTBEAT_INTERVAL_MS from the award on, so five intervals are ample,
 * and an award asking a long timeout only holds the worker that long once
 * its requester has shown up.
 */
export const FIRST_HEARTBEAT_TIMEOUT_MS = 5000

/**
 * After a lease expired at a worker without a single heartbeat, the
 * worker declines its requester's awards this long, ms: an admitted peer
 * that awards leases and never runs them holds a worker's capacity for
 * FIRST_HEARTBEAT_TIMEOUT_MS at most once per this period.
 */
export const ABANDONED_LEASE_BACKOFF_MS = 30_000

/**
 * Longest total life a worker grants a lease, ms from its award, whatever
 * the job's deadline: equal to the fleet-wide MAX_JOB_DEADLINE_MS (1 h) of
 * @fleetmesh/protocol, so a worker accepts any valid job; a worker may set
 * it lower (`WorkerInit.maxLeaseLifeMs`).
 */
export const MAX_LEASE_LIFE_MS = 60 * 60 * 1000

/**
 * Offers a worker takes per second from one requester (the offer's
 * signer), sustained and in a burst. A requester publishes one offer per
 * job and one per re-offer round (REOFFER_WINDOW_MS, 500 ms doubling):
 * ten jobs placing at once fit the burst; more are ignored until tokens
 * refill, and an honest forwarder is not penalised.
 */
export const OFFER_BUDGET = Object.freeze({ perSecond: 10, burst: 20 })

/** Bids a requester takes per second from one bidder (the bid's signer): one per offer round of each job; a worker answering a burst of offers fits. */
export const BID_BUDGET = Object.freeze({ perSecond: 20, burst: 50 })

/** Awards a worker takes per second from one requester (direct stream); a worker holds MAX_CONCURRENT_LEASES (4) at once, so more are declines in any case. */
export const AWARD_BUDGET = Object.freeze({ perSecond: 10, burst: 20 })

/** NoBids a requester takes per second from one worker (direct stream): one per job and offer round. */
export const NO_BID_BUDGET = Object.freeze({ perSecond: 10, burst: 20 })

/**
 * Direct market messages of any kind a node takes per second from one
 * peer: heartbeats (one per second per requester–worker pair), completes,
 * releases, cancels, awards and NoBids together.
 */
export const DIRECT_BUDGET = Object.freeze({ perSecond: 50, burst: 100 })

/** Direct market streams one peer may have in progress at this node at once (half of MAX_MARKET_STREAMS per connection). */
export const DIRECT_CONCURRENCY_PER_PEER = 16

/** Peers tracked per budget table (least recently used forgotten first); a region's members fit several times over. */
export const MAX_BUDGET_PEERS = 4096

/** Offers a worker keeps at once, all requesters together (the oldest forgotten first). */
export const MAX_KNOWN_OFFERS = 4096

/** Offers a worker keeps at once from one requester (its oldest forgotten first): one per running job; 64 jobs in flight is far above an honest requester. */
export const MAX_KNOWN_OFFERS_PER_REQUESTER = 64

/** Bidders a requester keeps per job (later bidders are not entered): a region's workers fit. */
export const MAX_BIDS_PER_JOB = 1024

/**
 * Bids a requester asks for per shard replica it places (`bidsWantedFor`):
 * enough that the best of a sample is close to the best of the region
 * (4 draws per slot), few enough that a region's stations relay tens of
 * bids per offer, not hundreds (bench/scale, 200 nodes: 99 bids a job
 * before, each validated and relayed by all ten stations of the region).
 */
export const BIDS_WANTED_PER_SLOT = 4

/**
 * Fewest bids a requester asks for in a sampled offer: with 8 wanted, a
 * region of 90 would-be bidders brings fewer than 2 (the early award's
 * `minBids` of a 2-shard job) in 0.2 % of offers (binomial, share 8/90);
 * such a round ends with its window and the re-offer asks for twice as many.
 */
export const MIN_BIDS_WANTED = 8

/** Most bids a requester asks for in one offer round (a re-offer doubles them each round). */
export const MAX_BIDS_WANTED = MAX_BIDS_PER_JOB

/** Regions a requester keeps an estimate of its workers for (bid sampling); the oldest is forgotten first. */
export const MAX_REGION_ESTIMATES = 256

/**
 * How long a requester keeps waiting for bids once every region peer it is
 * connected to has bid or refused (`shouldAwardEarly`'s all-answered) while
 * the bids in hand are fewer than the job wants, ms. A region can hold
 * workers this node is not connected to (a gateway bootstrapped to its
 * nearest station): their bids come through a station a relay hop or two
 * after the last answer this node saw (25 ms in the testnet, where a
 * 2-stage pipeline otherwise went whole to the one station the gateway
 * knew). Enough bids, or the window's end, end the wait sooner.
 */
export const ALL_ANSWERED_SETTLE_MS = 200

/**
 * How long a requester waits before it places again a slot whose award the
 * worker refused with ERR_RATE_LIMITED (this node over AWARD_BUDGET there),
 * ms. The worker stays in the job (its bid stands): an honest requester
 * running short jobs back to back (bench/adversary's, 15 a second) outran
 * the budget, and its job failed NoBidsError after PLACEMENT_TIMEOUT_MS
 * with every worker left out. At AWARD_BUDGET's 10 a second, five awards'
 * worth of budget comes back in this time.
 */
export const RATE_LIMITED_AWARD_RETRY_MS = 500
