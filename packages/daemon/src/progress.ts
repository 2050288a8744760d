import type { JobView } from './jobs.js'

/**
 * What `fleetmesh submit` shows while a job runs, and how it names a
 * failure in the CLI's own terms: pure functions over a job view.
 */

/** The submit flags a failure message may point at. */
export interface SubmitFlags {
  /** `--max-price`, credits per compute unit */
  maxPrice: number
  /** `--region`, if given */
  region?: string
  /** `--grace`, ms, if given */
  graceMs?: number
}

/**
 * The one-line reason a job could not be placed, naming the flag to change
 * (`lowest ask 1.0 > --max-price 0.5`, `no worker in region u33e (--region)`);
 * undefined if the job did not fail for want of bids.
 */
export function placementMessage (view: Pick<JobView, 'jobId' | 'errorInfo'>, flags: SubmitFlags): string | undefined {
  const e = view.errorInfo
  if (e == null || (e.name !== 'NoBidsError' && e.code !== 'ERR_NO_BIDS')) return undefined
  const region = e.region ?? flags.region ?? 'the node\'s region'
  const waited = flags.graceMs != null ? ` within the bid window + --grace ${flags.graceMs} ms` : ''
  switch (e.reason) {
    case 'price': {
      const ask = e.lowestAsk != null ? e.lowestAsk.toFixed(Math.max(1, decimals(e.lowestAsk))) : '?'
      const max = e.maxPricePerUnit ?? flags.maxPrice
      return `job ${view.jobId} not placed: lowest ask ${ask} > --max-price ${max}; raise --max-price`
    }
    case 'funds':
      return `job ${view.jobId} not placed: the workers in region ${region} see too little spendable credit for the job's maximum cost; ask the fleet authority for a grant (fleetmesh authority grant), or lower --max-price`
    case 'no-workers':
      return `job ${view.jobId} not placed: no worker in region ${region} (--region)${waited}`
    case 'reputation':
      return `job ${view.jobId} not placed: no worker in region ${region} has the reputation the job asks for`
    case 'limits':
      return `job ${view.jobId} not placed: no worker accepts a job this size; lower --shards, --stages or --micro-batch`
    case 'busy':
      return `job ${view.jobId} not placed: every worker in region ${region} is busy${waited}; retry, or give a longer --grace`
    default:
      return `job ${view.jobId} not placed: no acceptable bid in region ${region}${waited}`
  }
}

function decimals (x: number): number {
  const text = String(x)
  const i = text.indexOf('.')
  return i < 0 ? 0 : Math.min(6, text.length - i - 1)
}

/** Progress figures of a running job at `now` (ms since the epoch). */
export interface ProgressFigures {
  done: number
  total: number
  /** workers holding a lease now */
  workers: number
  /** leases lost and given to another worker so far */
  reawards: number
  /** items per second since submission */
  itemsPerSecond: number
  /** seconds left at that rate; undefined until the first micro-batch is done */
  etaSeconds?: number
}

/** The figures of `view` at `now`. */
export function progressFigures (view: JobView, now: number): ProgressFigures {
  const total = Math.max(1, view.microBatches.total)
  const done = Math.min(view.microBatches.done, total)
  const elapsed = Math.max(0.001, (now - view.submittedAt) / 1000)
  const items = view.batch * done / total
  const itemsPerSecond = items / elapsed
  const reawards = view.events.filter(e => e.type === 're-awarded').length
  const workers = view.workers.filter(w => w.state === 'leased').length
  const etaSeconds = done > 0 && done < total ? (elapsed / done) * (total - done) : done >= total ? 0 : undefined
  return { done, total, workers, reawards, itemsPerSecond, etaSeconds }
}

/** A plain progress line (for a stdout that is not a terminal). */
export function progressLine (view: JobView, now: number): string {
  const f = progressFigures(view, now)
  return `job ${view.jobId} ${view.state}: ${f.done}/${f.total} micro-batches, ${f.workers} workers, ${f.reawards} re-awards, ${f.itemsPerSecond.toFixed(1)} items/s${f.etaSeconds != null ? `, ETA ${Math.ceil(f.etaSeconds)} s` : ''}`
}
