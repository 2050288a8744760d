import { BidderRole } from '@fleetmesh/protocol'
import { planAwards, shouldAwardEarly } from './auction.js'
import { learnBidderAddrs, parseBidAddrs } from './bid-addrs.js'
import { MAX_BIDS_PER_JOB, MAX_REFUSALS_PER_JOB, PREDIALS_PER_SLOT, UNKNOWN_RTT_MS } from './constants.js'
import { holdings } from './job.js'
import { checkNoBid } from './messages.js'
import { everyWorkerRefused } from './no-bids.js'
import type { MarketContext } from './context.js'
import type { EarlyAwardDecision, OpenSlot, PlanInput } from './auction.js'
import type { Job } from './job.js'
import type { MarketBody, ValidatedMarketMessage } from './messages.js'
import type { NoBidsInput, Refusal } from './no-bids.js'
import type { PeerId } from '@libp2p/interface'

/**
 * What workers answer to a requester's offer: bids (gossiped) and
 * refusals (`NoBid`, direct), kept on the job; and the requester's view of
 * them when a shard cannot be placed ({@link noBidsInput},
 * {@link shouldFailFast}). Used by requester.ts.
 */

/** Keeps a refusal, one per worker (a newer one replaces it), at most MAX_REFUSALS_PER_JOB per job. */
function record (ctx: MarketContext, job: Job, refusal: Refusal): void {
  if (!job.refusals.has(refusal.worker) && job.refusals.size >= MAX_REFUSALS_PER_JOB) return
  job.refusals.set(refusal.worker, refusal)
  ctx.emit('refusal', { jobId: job.id, ...refusal, at: Date.now() })
}

/**
 * A validated bid for one of this node's running jobs. A bid over the
 * job's maximum price, or from a bidder whose reputation (MarketInit's
 * `reputation`, else the ledger's) is below the job's minimum, is recorded
 * as a refusal (PRICE, REPUTATION) instead of entering the auction. A good
 * bid replaces the bidder's earlier bid and refusal; the bidder's RTT is
 * the one this node knows already (MarketInit's `knownRtt`, a connection's
 * `rtt`), else measured once (ping, connected bidders only) while the bid
 * window runs, and `onRtt` is called when that measurement settles. A job keeps at most MAX_BIDS_PER_JOB
 * bidders: a bid from a new bidder past that is dropped.
 */
export function acceptBid (ctx: MarketContext, job: Job, v: ValidatedMarketMessage, onRtt?: () => void): void {
  const bid = v.message.bid
  if (bid == null) return
  const bidder = v.signer.toString()
  ctx.metrics.bid('received')
  if (!job.bids.has(bidder) && job.bids.size >= MAX_BIDS_PER_JOB) {
    ctx.metrics.bid('refused')
    ctx.log('bid of %s for job %s dropped: the job holds MAX_BIDS_PER_JOB (%d) bidders', bidder, job.id, MAX_BIDS_PER_JOB)
    return
  }
  ctx.emit('bid', { jobId: job.id, bidder, side: 'received', pricePerUnit: bid.pricePerUnit, capacity: bid.capacity, msPerUnit: bid.msPerUnit, at: Date.now() })
  const reputation = ctx.reputation(bidder)
  if (bid.pricePerUnit > job.terms.maxPricePerUnit) {
    job.bids.delete(bidder)
    ctx.metrics.bid('refused')
    record(ctx, job, { worker: bidder, code: 'PRICE', message: `ask ${bid.pricePerUnit} over the job's maxPricePerUnit ${job.terms.maxPricePerUnit}`, askPricePerUnit: bid.pricePerUnit })
    return
  }
  if (job.jurisdiction !== '' && v.certificate.jurisdiction !== job.jurisdiction) {
    job.bids.delete(bidder)
    ctx.metrics.bid('refused')
    record(ctx, job, { worker: bidder, code: 'JURISDICTION', message: `certificate names jurisdiction ${v.certificate.jurisdiction === '' ? 'none' : v.certificate.jurisdiction}, the job requires ${job.jurisdiction}` })
    return
  }
  if (reputation < job.terms.minReputation) {
    job.bids.delete(bidder)
    ctx.metrics.bid('refused')
    record(ctx, job, { worker: bidder, code: 'REPUTATION', message: `reputation ${reputation} below the job's minReputation ${job.terms.minReputation}` })
    return
  }
  job.refusals.delete(bidder)
  if (!job.rtts.has(bidder)) {
    const known = knownRtt(ctx, bidder, v.signer)
    if (known != null) job.rtts.set(bidder, known)
  }
  job.bids.set(bidder, {
    bidder,
    pricePerUnit: bid.pricePerUnit,
    msPerUnit: bid.msPerUnit,
    setupMs: bid.setupMs,
    capacity: bid.capacity,
    modelCached: bid.modelCached,
    role: bid.role === BidderRole.VEHICLE ? 'vehicle' : 'station',
    region: v.certificate.region,
    rttMs: job.rtts.get(bidder),
    reputation,
    expiresAt: Number(v.message.expiresAt)
  })
  job.bidders.set(bidder, v.signer)
  job.bidAddrs.set(bidder, parseBidAddrs(bid.addrs ?? []))
  // only a bidder this node is connected to is pinged: dialling every vehicle whose bid came
  // through a station cost one connection per bidder and held the early award until each ping
  // settled (bench/scale, 200 nodes: 99 bids spread over 12.8 s); the others are scored with
  // `unknownRttMs`, and only the winners are dialled, to be awarded
  const ping = ctx.components.ping
  if (!job.rtts.has(bidder) && ping != null && ctx.components.connectionManager.getConnections(v.signer).length > 0) {
    job.rtts.set(bidder, NaN)
    const signal = AbortSignal.any([job.abort.signal, AbortSignal.timeout(Math.max(200, job.bidWindowMs))])
    void ping.ping(v.signer, { signal }).then(ms => {
      job.rtts.set(bidder, ms)
      const b = job.bids.get(bidder)
      if (b != null) b.rttMs = ms
      onRtt?.()
    }, () => {
      job.rtts.delete(bidder)
      onRtt?.()
    })
  }
}

/** The RTT to `peer` this node measured already, ms (MarketInit's `knownRtt`, else the connection monitor's `rtt` of a connection to it), or undefined. */
function knownRtt (ctx: MarketContext, bidder: string, peer: PeerId): number | undefined {
  const given = ctx.init.knownRtt?.(bidder)
  if (given != null && Number.isFinite(given) && given >= 0) return given
  for (const c of ctx.components.connectionManager.getConnections(peer)) {
    if (c.rtt != null && Number.isFinite(c.rtt) && c.rtt >= 0) return c.rtt
  }
  return undefined
}

/**
 * A validated `NoBid` from the direct stream, for `job` (undefined: no such
 * job runs here). Checked by `checkNoBid` (the job runs here, the round was
 * offered, the worker is certified for the job's region) and recorded.
 *
 * @returns the answer: ack ok, or ack with the error code (ERR_UNKNOWN_JOB, ERR_INVALID_MARKET_MESSAGE, ERR_REGION_MISMATCH)
 */
export function acceptNoBid (ctx: MarketContext, job: Job | undefined, v: ValidatedMarketMessage): MarketBody {
  const nb = v.message.noBid
  if (nb == null) return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
  try {
    checkNoBid(nb, job == null ? undefined : { jobId: job.id, round: job.round, region: job.region }, v.certificate)
  } catch (err: any) {
    ctx.log('noBid from %p refused - %s', v.signer, err?.message ?? err)
    return { ack: { ok: false, code: err?.code ?? 'ERR_UNKNOWN' } }
  }
  const refusal: Refusal = { worker: v.signer.toString(), code: nb.code, message: nb.message }
  if (nb.askPricePerUnit != null) refusal.askPricePerUnit = nb.askPricePerUnit
  record(ctx, job as Job, refusal)
  return { ack: { ok: true, code: '' } }
}

/** Admitted, connected peers certified for the job's region (PeerId strings), this node left out. */
export function regionPeers (ctx: MarketContext, job: Job): string[] {
  const self = ctx.components.peerId
  const admitted = ctx.components.admission.admitted?.() ?? []
  return admitted.filter(c => c.region === job.region && !c.peerId.equals(self)).map(c => c.peerId.toString())
}

/**
 * What the requester saw of a job, as `explainNoBids` takes it: usable bids
 * are those of bidders not excluded from the job; a refusal counts only
 * for a worker without a usable bid; excluded workers (they lost, declined
 * or released a lease of the job) are not counted as region peers.
 */
export function noBidsInput (ctx: MarketContext, job: Job): NoBidsInput {
  const usable = new Set([...job.bids.keys()].filter(b => !job.excluded.has(b)))
  const input: NoBidsInput = {
    region: job.region,
    maxPricePerUnit: job.terms.maxPricePerUnit,
    minReputation: job.terms.minReputation,
    regionPeers: regionPeers(ctx, job).filter(p => !job.excluded.has(p)),
    refusals: [...job.refusals.values()].filter(r => !usable.has(r.worker)),
    bids: usable.size,
    excluded: job.excluded.size
  }
  if (job.modelBytes != null) input.modelBytes = job.modelBytes
  if (job.maxFrameBytes != null) input.maxFrameBytes = job.maxFrameBytes
  const reason = job.slots.find(s => s.done == null && s.lease == null)?.lastReason
  if (reason != null) input.unplacedReason = reason
  return input
}

/** True when no usable bid is left and every admitted worker of the job's region refused for a reason that will not clear by itself. */
export function shouldFailFast (ctx: MarketContext, job: Job): boolean {
  const input = noBidsInput(ctx, job)
  return (input.bids ?? 0) === 0 && everyWorkerRefused(input)
}

/** What `planAwards` takes for `job` now: its bids (an RTT still measured left out), leases held, shard holders and excluded workers; `open` its open slots. */
export function planInput (ctx: MarketContext, job: Job, open: OpenSlot[], now: number): PlanInput {
  const { held, shardHolders } = holdings(job)
  return {
    terms: job.terms,
    bids: [...job.bids.values()].map(b => ({ ...b, rttMs: Number.isNaN(b.rttMs) ? undefined : b.rttMs })),
    open,
    held,
    shardHolders,
    excluded: [...job.excluded],
    now,
    score: { weights: ctx.init.weights, unknownRttMs: ctx.init.unknownRttMs ?? UNKNOWN_RTT_MS },
    spread: job.spread
  }
}

/** `shouldAwardEarly` over what the requester holds of `job` now ({@link planInput}, its pending RTTs, refusals and region peers); `open` its open slots. */
export function earlyAward (ctx: MarketContext, job: Job, open: OpenSlot[]): EarlyAwardDecision {
  return shouldAwardEarly({
    ...planInput(ctx, job, open, Date.now()),
    minBids: job.minBids,
    pendingRtt: [...job.rtts].filter(([, ms]) => Number.isNaN(ms)).map(([bidder]) => bidder),
    regionPeers: regionPeers(ctx, job),
    refused: [...job.refusals.keys()]
  })
}

/**
 * While a job waits for bids: readies the bidders `planAwards` would award
 * the `open` slots to now, so that their award goes out at once: it dials
 * those this node holds no connection to (a vehicle's bid comes through a
 * station; the dial uses the addresses of its bid), so that no dial and
 * admission handshake follow the window, and opens a market stream to each
 * (kept for the award, KEPT_STREAM_IDLE_MS), so that the award does not
 * wait for the stream's protocol echo. At most PREDIALS_PER_SLOT bidders
 * per open slot and job, each bounded by the award timeout; a failure only
 * costs the award its own dial or stream later.
 */
export function dialLikelyWinners (ctx: MarketContext, job: Job, open: OpenSlot[]): void {
  if (open.length === 0 || job.predialled.size >= open.length * PREDIALS_PER_SLOT) return
  const plan = planAwards(planInput(ctx, job, open, Date.now()))
  for (const a of plan.awards) {
    if (job.predialled.size >= open.length * PREDIALS_PER_SLOT) return
    const worker = job.bidders.get(a.bidder)
    if (worker == null || job.predialled.has(a.bidder) || worker.equals(ctx.components.peerId)) continue
    job.predialled.add(a.bidder)
    const signal = AbortSignal.any([job.abort.signal, AbortSignal.timeout(ctx.timings.awardTimeoutMs)])
    const connected = ctx.components.connectionManager.getConnections(worker).length > 0
    void (async () => {
      if (!connected) {
        await learnBidderAddrs(ctx.components, worker, job.bidAddrs.get(a.bidder) ?? [])
        await ctx.components.connectionManager.openConnection(worker, { signal })
      }
      await ctx.openKeptStream(worker, signal)
    })().catch((err: any) => {
      ctx.log('job %s: dialling likely winner %p failed - %s', job.id, worker, err?.message ?? err)
    })
  }
}
