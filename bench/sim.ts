/**
 * bench/sim: the discrete-event simulator (@fleetmesh/sim).
 *
 * (a) Calibration: the simulator runs `scaleScenario(n)` — the scenario of
 *     `bench/scale.ts` — for each calibration size and prints its figures
 *     beside the real ones with their ratio (sim ÷ real; goal 0.75..1.25)
 *     for gossipToAllP50Ms (when given), gossipToAllP99Ms, findProvidersSuccess, findProvidersP50Ms,
 *     offerToAwardsP50Ms and receiptConvergenceMs. The real figures come
 *     from `--real <scale.json>` (bench/scale.ts `--out`: figures keyed
 *     n50/n100/n200, at the top level or under `figures`), or, without
 *     one, from a real mesh of `--real-mesh` nodes started here
 *     (bench/sim-real.ts), simulated at the same size. The simulator's one
 *     free parameter, `processingMs` (CPU per message per node: on one
 *     machine it stands for the nodes' contention for its cores), is fitted
 *     per size on gossipToAllP50Ms (the median: a p99 of a few probes is
 *     one outlier; gossipToAllP99Ms when the file has no median); the
 *     other figures are predictions. The
 *     real mesh's mean connection count (`connectionsPerNode`, when the
 *     file has it) is the simulator's `connectedPeers`.
 * (b) Scale: `fleetScenario(n)` (regions of ~5,000 nodes, one station in
 *     ten, field links, 5 % churn per hour, one hour) for each `--sizes`
 *     size: offer reach, offer to awards, receipt convergence, bytes per
 *     node per hour, wall time and RSS.
 *
 * Prints one JSON object with a `figures` object; `--out <file>` writes it
 * there too. Run: npm run bench:sim -- [--real scale.json] [--real-mesh 24] [--real-runs 10]
 * [--calibrate 100,200] [--sizes 10000,100000] [--skip-calibration]
 */
import { writeFileSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fleetScenario, scaleScenario, simulate } from '@fleetmesh/sim'
import { measureRealMesh } from './sim-real.js'
import type { SimFigures } from '@fleetmesh/sim'
import type { RealFigures } from './sim-real.js'

const { values } = parseArgs({
  options: {
    real: { type: 'string' },
    'real-mesh': { type: 'string', default: '24' },
    'real-runs': { type: 'string', default: '10' },
    calibrate: { type: 'string', default: '100,200' },
    sizes: { type: 'string', default: '10000,100000' },
    'skip-calibration': { type: 'boolean', default: false },
    out: { type: 'string' }
  }
})

const COMPARED = ['gossipToAllP50Ms', 'gossipToAllP99Ms', 'findProvidersSuccess', 'findProvidersP50Ms', 'offerToAwardsP50Ms', 'receiptConvergenceMs'] as const
type Compared = typeof COMPARED[number]

const round = (x: number, digits = 3): number => Number.isFinite(x) ? Number(x.toPrecision(digits)) : x

/** The real figures of size `n` in a bench/scale.ts output file, if it has them. */
function realFromFile (file: string, n: number): Partial<RealFigures> | undefined {
  const json = JSON.parse(readFileSync(file, 'utf8'))
  return (json.figures ?? json)[`n${n}`]
}

/** Fits `processingMs` so that the simulated gossipToAllP50Ms matches `target` (proportional steps on a monotone function). */
async function fitProcessing (n: number, target: number, connectedPeers?: number): Promise<{ processingMs: number, figures: SimFigures }> {
  const run = async (p: number): Promise<SimFigures> => (await simulate({ ...scaleScenario(n, p), ...(connectedPeers != null ? { connectedPeers: Math.round(connectedPeers) } : {}) })).figures
  let p = 1
  let f = await run(p)
  for (let step = 0; step < 6; step++) {
    const g = f.gossipToAllP50Ms
    if (!(g > 0) || !Number.isFinite(target) || Math.abs(g - target) / target < 0.05) break
    // time to all ≈ hops × (processing + latency): scale the processing by the ratio
    p = Math.max(0.01, p * target / g)
    f = await run(p)
  }
  return { processingMs: p, figures: f }
}

function compare (sim: SimFigures, real: Partial<RealFigures>): Record<string, { sim: number, real: number, ratio: number, within25: boolean }> {
  const out: Record<string, { sim: number, real: number, ratio: number, within25: boolean }> = {}
  for (const k of COMPARED) {
    const r = real[k as Compared]
    if (r == null) continue
    const sv = sim[k]
    const ratio = r === 0 ? (sv === 0 ? 1 : Infinity) : sv / r
    out[k] = { sim: round(sv), real: round(r), ratio: round(ratio), within25: ratio >= 0.75 && ratio <= 1.25 }
  }
  return out
}

async function calibration (): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  const sizes = values.calibrate.split(',').map(Number).filter(n => n > 1)
  if (values.real != null) {
    for (const n of sizes) {
      const real = realFromFile(values.real, n)
      if (real == null) { out[`n${n}`] = { error: `no n${n} figures in ${values.real}` }; continue }
      const { processingMs, figures } = await fitProcessing(n, real.gossipToAllP50Ms ?? real.gossipToAllP99Ms ?? NaN, real.connectionsPerNode)
      out[`n${n}`] = { source: values.real, processingMs: round(processingMs), compared: compare(figures, real) }
    }
    return out
  }
  // no bench/scale.ts figures yet: a real mesh of --real-mesh nodes, and the simulator at that size
  const m = Number(values['real-mesh'])
  const runs = Number(values['real-runs'])
  const real = await measureRealMesh(m, { probes: runs, lookups: runs * 2, jobs: runs })
  const { processingMs, figures } = await fitProcessing(m, real.gossipToAllP50Ms, real.connectionsPerNode)
  out[`n${m}`] = { source: `real mesh of ${m} nodes in this process`, processingMs: round(processingMs), connectedPeers: round(real.connectionsPerNode), compared: compare(figures, real) }
  // the calibration sizes, simulated with the fitted processing scaled by nodes per core (one machine, same cores)
  for (const n of sizes) {
    const f = (await simulate(scaleScenario(n, processingMs * n / m))).figures
    out[`n${n}`] = { source: `simulated only (processingMs ${round(processingMs)} × ${n}/${m}); no real figures (pass --real)`, sim: Object.fromEntries(COMPARED.map(k => [k, round(f[k])])) }
  }
  return out
}

async function scale (): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const n of values.sizes.split(',').map(Number).filter(n => n > 1)) {
    const { figures: f } = await simulate(fleetScenario(n))
    out[`n${n}`] = {
      churnPerHour: 0.05,
      regions: f.regions,
      jobs: f.jobs,
      offerReach: round(f.offerReach, 4),
      offerReachMin: round(f.offerReachMin, 4),
      offerToAwardsP50Ms: round(f.offerToAwardsP50Ms),
      offerToAwardsP99Ms: round(f.offerToAwardsP99Ms),
      receiptConvergenceP50Ms: round(f.receiptConvergenceP50Ms),
      receiptConvergenceMs: round(f.receiptConvergenceMs),
      gossipToAllP99Ms: round(f.gossipToAllP99Ms),
      findProvidersSuccess: round(f.findProvidersSuccess),
      findProvidersP50Ms: round(f.findProvidersP50Ms),
      bytesPerNodePerHour: Math.round(f.bytesPerNodePerHour),
      bytesPerNodePerHourBy: Object.fromEntries(Object.entries(f.bytesPerNodePerHourBy).map(([k, v]) => [k, Math.round(v)])),
      leaves: f.leaves,
      wallMs: Math.round(f.wallMs),
      rssMB: Math.round(f.rssMB)
    }
  }
  return out
}

const figures: Record<string, unknown> = {}
if (!values['skip-calibration']) figures.calibration = await calibration()
Object.assign(figures, await scale())
const report = { bench: 'sim', at: new Date().toISOString(), figures }
const text = JSON.stringify(report, null, 2)
console.log(text)
if (values.out != null) writeFileSync(values.out, text + '\n')
