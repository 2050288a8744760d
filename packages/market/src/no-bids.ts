/**
 * Why a job found no worker, as a pure function of what its requester saw:
 * the admitted peers of the job's region it knows of, the refusals workers
 * sent (`NoBid`) or that the requester recorded itself (bids over the
 * price, bidders below the minimum reputation), and the job's terms. The
 * requester fails an unplaceable job with a `NoBidsError` built from
 * {@link explainNoBids}; {@link everyWorkerRefused} says when it need not
 * wait for the placement timeout.
 */

/** Why a worker's lease handler refuses an offer before bidding (`LeaseHandlerOptions.canServe`): BUSY for a handler at its own capacity (e.g. its most stateful sessions). */
export type BidRefusalCode = 'MODEL_TOO_LARGE' | 'INPUT_TOO_LARGE' | 'MODEL_INVALID' | 'UNSUPPORTED' | 'BUSY'

/**
 * The code of a `NoBid`: a {@link BidRefusalCode}, or the worker's own
 * policy: `PRICE` (its ask is over the offer's maximum), `REPUTATION` (its
 * reputation is below the offer's minimum), `DEADLINE` (it cannot finish a
 * shard in time), `BUSY` (no free capacity or power), `REQUESTER_LIMIT`
 * (the requester already holds its share of the worker's leases,
 * `ceil(REQUESTER_LEASE_SHARE × maxConcurrentLeases)`), `DRAINING`,
 * `UNAVAILABLE` (a vehicle whose state does not allow work, or a worker
 * with no lease handler), `FUNDS` (the requester's spendable balance, as
 * the worker's ledger sees it, is below the offer's maximum cost).
 */
export type NoBidCode = BidRefusalCode | 'FUNDS' | 'PRICE' | 'REPUTATION' | 'JURISDICTION' | 'DEADLINE' | 'BUSY' | 'REQUESTER_LIMIT' | 'DRAINING' | 'UNAVAILABLE'

/** One worker's refusal of a job, as its requester keeps it (at most one per worker). */
export interface Refusal {
  /** worker PeerId string */
  worker: string
  /** a {@link NoBidCode}; another capital-letter code from a newer worker reads as `unknown` */
  code: string
  /** the worker's words */
  message: string
  /** the worker's asking price, credits per compute unit (code PRICE) */
  askPricePerUnit?: number
}

/** The reason of a `NoBidsError`. */
export type NoBidsReason = 'no-workers' | 'funds' | 'price' | 'reputation' | 'jurisdiction' | 'limits' | 'busy' | 'unknown'

/** What the requester saw of a job that found no worker. Plain data. */
export interface NoBidsInput {
  /** the job's region */
  region: string
  /** credits per compute unit */
  maxPricePerUnit: number
  /** 0..1 */
  minReputation: number
  /** the job's model size, bytes, if the offer stated it */
  modelBytes?: number
  /** the job's largest micro-batch input, bytes, if the offer stated it */
  maxFrameBytes?: number
  /** admitted peers of the job's region the requester knows of (PeerId strings, itself left out) */
  regionPeers: readonly string[]
  /** at most one per worker */
  refusals: readonly Refusal[]
  /** usable bids received (eligible, from workers not excluded) @default 0 */
  bids?: number
  /** the planner's reason a shard stayed unplaced although there were usable bids */
  unplacedReason?: string
  /** workers excluded from the job (they lost, declined or released a lease of it) @default 0 */
  excluded?: number
}

/** The result of {@link explainNoBids}. */
export interface NoBidsExplanation {
  reason: NoBidsReason
  /** what was wrong and what to change, e.g. `lowest ask 1.0 > maxPricePerUnit 0.5 (2 workers in region u33d); raise maxPricePerUnit to 1.0` */
  message: string
  /** the lowest ask among PRICE refusals, credits per compute unit */
  lowestAsk?: number
}

const CATEGORY: Readonly<Record<string, NoBidsReason>> = {
  FUNDS: 'funds',
  PRICE: 'price',
  REPUTATION: 'reputation',
  JURISDICTION: 'jurisdiction',
  MODEL_TOO_LARGE: 'limits',
  INPUT_TOO_LARGE: 'limits',
  MODEL_INVALID: 'limits',
  UNSUPPORTED: 'limits',
  DEADLINE: 'limits',
  BUSY: 'busy',
  REQUESTER_LIMIT: 'busy',
  DRAINING: 'busy',
  UNAVAILABLE: 'busy'
}

/**
 * The order reasons are reported in: the first one present is the job's
 * reason (the one whose fix would place the job soonest; a requester that
 * cannot pay gets no bid whatever its price).
 */
const PRIORITY: readonly NoBidsReason[] = ['funds', 'price', 'reputation', 'jurisdiction', 'limits', 'busy', 'unknown']

/** Limit codes, most telling first (ties in count go to the earlier one). */
const LIMIT_CODES = ['MODEL_TOO_LARGE', 'INPUT_TOO_LARGE', 'MODEL_INVALID', 'UNSUPPORTED', 'DEADLINE']

/** Refusal codes that may clear by themselves (capacity frees up, a vehicle parks again): no reason to fail before the placement timeout. */
const TRANSIENT: ReadonlySet<string> = new Set(['BUSY', 'REQUESTER_LIMIT', 'DRAINING', 'UNAVAILABLE'])

/** The reason a refusal code stands for. */
export function refusalCategory (code: string): NoBidsReason {
  return CATEGORY[code] ?? 'unknown'
}

/** A price as the messages print it: `1.0`, `0.5`, `1.25`. */
function price (x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(Math.round(x * 1e6) / 1e6)
}

/** Bytes as the messages print them (decimal units): `120 MB`, `4.7 MB`, `640 kB`, `512 bytes`. */
export function formatBytes (n: number): string {
  if (n >= 1e9) return `${Math.round(n / 1e8) / 10} GB`
  if (n >= 1e6) return `${Math.round(n / 1e5) / 10} MB`
  if (n >= 1e3) return `${Math.round(n / 1e2) / 10} kB`
  return `${n} bytes`
}

const workers = (n: number): string => `${n} worker${n === 1 ? '' : 's'}`

/**
 * Explains why a job found no worker, from what its requester saw. With no
 * refusal: `no-workers` (`no worker in region u33e`), or `busy` when usable
 * bids could still not take a shard. Otherwise the refusals are grouped by
 * {@link refusalCategory} and the first category in the order funds, price,
 * reputation, jurisdiction, limits, busy, unknown is the reason; its message names what
 * to change, and the other categories follow as a count.
 */
export function explainNoBids (input: NoBidsInput): NoBidsExplanation {
  const { region, refusals } = input
  if (refusals.length === 0) {
    if ((input.bids ?? 0) > 0) {
      return { reason: 'busy', message: `${input.bids ?? 0} usable bid(s) in region ${region} could not take every shard: ${input.unplacedReason ?? 'every bidder is at capacity'}; retry later or lower redundancy` }
    }
    if ((input.excluded ?? 0) > 0) {
      return { reason: 'no-workers', message: `no other worker in region ${region} took the shard (${workers(input.excluded ?? 0)} left out after losing, declining or handing back a lease of this job)` }
    }
    if (input.regionPeers.length === 0) return { reason: 'no-workers', message: `no worker in region ${region}` }
    return { reason: 'no-workers', message: `no worker in region ${region} answered the offer (${input.regionPeers.length} admitted peer(s) there sent neither a bid nor a refusal)` }
  }
  const groups = new Map<NoBidsReason, Refusal[]>()
  for (const r of refusals) {
    const c = refusalCategory(r.code)
    const list = groups.get(c)
    if (list == null) groups.set(c, [r])
    else list.push(r)
  }
  const reason = PRIORITY.find(p => groups.has(p)) ?? 'unknown'
  const mine = groups.get(reason) ?? []
  const all = mine.length === refusals.length
  const n = mine.length
  let message: string
  let lowestAsk: number | undefined
  switch (reason) {
    case 'funds':
      message = `${workers(n)} in region ${region} ${n === 1 ? 'sees' : 'see'} too little spendable credit for the job's maximum cost (${mine[0]?.message ?? ''}); ask the fleet authority for a grant (fleetmesh authority grant), or lower maxPricePerUnit or the job's size`
      break
    case 'price': {
      const asks = mine.map(r => r.askPricePerUnit).filter((a): a is number => a != null && Number.isFinite(a))
      if (asks.length > 0) {
        lowestAsk = Math.min(...asks)
        message = `lowest ask ${price(lowestAsk)} > maxPricePerUnit ${price(input.maxPricePerUnit)} (${workers(n)} in region ${region}); raise maxPricePerUnit to ${price(lowestAsk)}`
      } else {
        message = `${workers(n)} in region ${region} ${n === 1 ? 'asks' : 'ask'} more than maxPricePerUnit ${price(input.maxPricePerUnit)}; raise maxPricePerUnit`
      }
      break
    }
    case 'reputation':
      message = `${workers(n)} in region ${region} ${n === 1 ? 'is' : 'are'} below minReputation ${input.minReputation}; lower minReputation`
      break
    case 'jurisdiction':
      message = `${workers(n)} in region ${region} ${n === 1 ? 'is' : 'are'} not certified for the job's jurisdiction: ${mine[0]?.message ?? ''}; add workers certified there or drop the jurisdiction`
      break
    case 'limits': {
      const count = (code: string): number => mine.filter(r => r.code === code).length
      const code = LIMIT_CODES.reduce((best, c) => count(c) > count(best) ? c : best, LIMIT_CODES[0] as string)
      const k = count(code)
      const over = (what: string): string => all && k === n ? `over every bidder's ${what} (${workers(k)})` : `over the ${what} of ${workers(k)}`
      const first = mine.find(r => r.code === code)?.message ?? ''
      if (code === 'MODEL_TOO_LARGE') {
        message = `${input.modelBytes != null ? `model ${formatBytes(input.modelBytes)}` : 'the model'} ${over('store budget')}; use a smaller model or workers with a larger model store`
      } else if (code === 'INPUT_TOO_LARGE') {
        message = `${input.maxFrameBytes != null ? `micro-batch input ${formatBytes(input.maxFrameBytes)}` : 'a micro-batch input'} ${over('frame limit')}; use smaller micro-batches`
      } else if (code === 'MODEL_INVALID') {
        message = `${workers(k)} refused the model as invalid: ${first}`
      } else if (code === 'DEADLINE') {
        message = `${workers(k)} cannot finish a shard before the deadline; give it a later deadline or smaller shards`
      } else {
        message = `${workers(k)} cannot serve this job: ${first}`
      }
      break
    }
    case 'busy': {
      const by = (code: string): number => mine.filter(r => r.code === code).length
      const parts = [[by('BUSY') + by('REQUESTER_LIMIT'), 'at capacity'], [by('DRAINING'), 'draining'], [by('UNAVAILABLE'), 'unavailable']]
        .filter(([c]) => (c as number) > 0).map(([c, what]) => `${c as number} ${what as string}`)
      message = `${all ? 'every worker that answered in region ' + region + ' is' : `${workers(n)} in region ${region} ${n === 1 ? 'is' : 'are'}`} busy (${parts.join(', ')}); retry later`
      break
    }
    default:
      message = `${workers(n)} in region ${region} refused: ${mine[0]?.message ?? ''}`
  }
  const others = PRIORITY.filter(p => p !== reason && groups.has(p)).map(p => `${(groups.get(p) ?? []).length} ${p}`)
  if (others.length > 0) message += `; other refusals: ${others.join(', ')}`
  if ((input.bids ?? 0) > 0) message += `; ${input.bids ?? 0} usable bid(s) could not take every shard: ${input.unplacedReason ?? 'every bidder is at capacity'}`
  return lowestAsk != null ? { reason, message, lowestAsk } : { reason, message }
}

/**
 * True when the requester need not wait any longer: at least one worker
 * refused, every admitted peer of the region it knows of refused, and no
 * refusal may clear by itself (BUSY, DRAINING, UNAVAILABLE wait for the
 * placement timeout).
 */
export function everyWorkerRefused (input: Pick<NoBidsInput, 'regionPeers' | 'refusals'>): boolean {
  if (input.refusals.length === 0) return false
  if (input.refusals.some(r => TRANSIENT.has(r.code))) return false
  const refused = new Set(input.refusals.map(r => r.worker))
  return input.regionPeers.every(p => refused.has(p))
}
