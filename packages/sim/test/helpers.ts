import { LinkModel } from '../src/network.js'
import { NodeTable } from '../src/nodes.js'
import { Rng } from '../src/rng.js'
import { resolveScenario } from '../src/scenario.js'
import type { LinkClass, ResolvedScenario, Scenario } from '../src/scenario.js'

/** A small scenario for unit tests: links of `link`, one region unless told. */
export function testScenario (over: Partial<Scenario> = {}, link: LinkClass = { meanMs: 10, jitterMs: 0, loss: 0 }): ResolvedScenario {
  return resolveScenario({
    name: 'unit',
    nodes: 50,
    regions: ['u33d'],
    stationShare: 0.2,
    links: { backbone: { ...link }, interRegion: { ...link }, cellular: { ...link } },
    processingMs: 0,
    durationMs: 10_000,
    jobsPerHour: 0,
    job: { shardUnits: [100, 100], maxPricePerUnit: 2, deadlineMs: 30_000 },
    workers: { basePricePerUnit: [0.5, 1.5] },
    ...over
  })
}

/** The fleet, link model and rng of a scenario. */
export function world (s: ResolvedScenario, seed = 1): { nodes: NodeTable, net: LinkModel, rng: Rng } {
  const rng = new Rng(seed)
  const nodes = new NodeTable(s, rng)
  return { nodes, net: new LinkModel(s, nodes), rng }
}
