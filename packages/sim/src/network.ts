import { HostCpu } from './cpu.js'
import { STATION } from './nodes.js'
import type { NodeTable } from './nodes.js'
import type { Rng } from './rng.js'
import type { LinkClass, ResolvedScenario } from './scenario.js'

/**
 * The latency and loss model. A link's class follows from its ends: two
 * stations of one region share the backbone, two stations of different
 * regions the inter-region backbone, and any link with a vehicle is
 * cellular (plus the inter-region latency when the regions differ). Each
 * message takes the class's fixed latency plus exponential jitter, and is
 * lost with the class's loss rate; each node spends `processingMs` of CPU
 * on each message it handles, on its host's CPU (`cpu`: nodes of one
 * process wait for each other).
 */
export class LinkModel {
  readonly processingMs: number
  /** CPU a node spends on each gossip copy it sends, ms (the scenario's `sendMs`) */
  readonly sendMs: number
  /** CPU a node spends on a gossip copy of a message it has already seen, ms (the scenario's `duplicateMs`) */
  readonly duplicateMs: number
  /** the hosts' CPU calendars (no sharing unless given) */
  readonly cpu: HostCpu
  private readonly nodes: NodeTable
  private readonly links: ResolvedScenario['links']

  /** @param cpu - the hosts' CPU @default every node on a CPU of its own */
  constructor (s: ResolvedScenario, nodes: NodeTable, cpu: HostCpu = new HostCpu()) {
    this.nodes = nodes
    this.links = s.links
    this.processingMs = s.processingMs
    this.sendMs = s.sendMs
    this.duplicateMs = s.duplicateMs
    this.cpu = cpu
  }

  /** The class of the link between nodes `a` and `b`. */
  classOf (a: number, b: number): LinkClass {
    const n = this.nodes
    const sameRegion = n.region[a] === n.region[b]
    if (n.role[a] === STATION && n.role[b] === STATION) return sameRegion ? this.links.backbone : this.links.interRegion
    return this.links.cellular
  }

  /** Fixed one-way latency from `a` to `b`, ms (no jitter). */
  baseLatency (a: number, b: number): number {
    const c = this.classOf(a, b)
    const n = this.nodes
    const cross = n.region[a] !== n.region[b] && c === this.links.cellular ? this.links.interRegion.meanMs : 0
    return c.meanMs + cross
  }

  /** One message's one-way latency from `a` to `b`, ms. */
  latency (a: number, b: number, rng: Rng): number {
    const c = this.classOf(a, b)
    return this.baseLatency(a, b) + (c.jitterMs > 0 ? rng.exp(c.jitterMs) : 0)
  }

  /** True if one message from `a` to `b` is lost. */
  lost (a: number, b: number, rng: Rng): boolean {
    return rng.chance(this.classOf(a, b).loss)
  }

  /** One request/response round trip, ms: both latencies, the responder's processing, and both ends' wake-up (`cpu.wakeMs`). */
  roundTrip (a: number, b: number, rng: Rng): number {
    return this.latency(a, b, rng) + this.processingMs + this.latency(b, a, rng) + 2 * this.cpu.wakeMs
  }
}
