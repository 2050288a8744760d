import { parseRegionTopic, PRESENCE_TOPIC, RECEIPTS_TOPIC } from '@fleetmesh/protocol'
import type { Metrics } from '@libp2p/interface'
import type { MetricsRegister, TopicStrToLabel } from '@libp2p/gossipsub/metrics'

/**
 * Gossipsub's metrics (`gossipsub_*`: validation results by topic, by
 * rejection reason, mesh sizes, RPC counts, scores) registered through
 * libp2p's `components.metrics`, so an embedder's metrics implementation
 * (Prometheus or any other) gets them. Gossipsub asks for a prom-client
 * shaped register; this adapts it: each gauge is a calculated metric (or
 * group, keyed by its label values joined with `/`), each histogram a
 * libp2p histogram (group), each avg-min-max a group keyed by `avg`, `min`,
 * `max` and `count`.
 */

type Labels = Record<string, string | number>
const key = (labels: Labels | undefined, names: readonly string[]): string => names.map(n => String(labels?.[n] ?? '')).join('/')

/** A gossipsub `MetricsRegister` over libp2p's metrics. */
export function gossipMetricsRegister (metrics: Metrics): MetricsRegister {
  return {
    gauge (config: { name: string, help: string, labelNames?: readonly string[] }) {
      const names = config.labelNames ?? []
      const values = new Map<string, number>()
      const collects: Array<(g: any) => void> = []
      const gauge: any = {
        inc: (a?: any, b?: number) => { const [l, v] = typeof a === 'object' ? [a, b ?? 1] : [undefined, a ?? 1]; const k = key(l, names); values.set(k, (values.get(k) ?? 0) + v) },
        set: (a: any, b?: number) => { const [l, v] = typeof a === 'object' ? [a, b as number] : [undefined, a]; values.set(key(l, names), v) },
        addCollect: (fn: (g: any) => void) => { collects.push(fn) }
      }
      const collect = (): void => { for (const fn of collects) fn(gauge) }
      if (names.length === 0) {
        metrics.registerMetric(config.name, { help: config.help, calculate: () => { collect(); return values.get('') ?? 0 } })
      } else {
        metrics.registerMetricGroup(config.name, { help: config.help, label: names.join('_'), calculate: () => { collect(); return Object.fromEntries(values) } })
      }
      return gauge
    },
    histogram (config: { name: string, help: string, labelNames?: readonly string[], buckets?: number[] }) {
      const names = config.labelNames ?? []
      if (names.length === 0) {
        const h = metrics.registerHistogram(config.name, { help: config.help, buckets: config.buckets })
        return { observe: (a: any, b?: number) => { h.observe(typeof a === 'object' ? b as number : a) }, reset: () => { h.reset() }, startTimer: () => h.timer() } as any
      }
      const h = metrics.registerHistogramGroup(config.name, { help: config.help, label: names.join('_'), buckets: config.buckets })
      return { observe: (l: Labels, v: number) => { h.observe({ [key(l, names)]: v }) }, reset: () => { h.reset() }, startTimer: (l: Labels) => h.timer(key(l, names)) } as any
    },
    avgMinMax (config: { name: string, help: string, labelNames?: readonly string[] }) {
      const names = config.labelNames ?? []
      const values = new Map<string, number[]>()
      const collects: Array<(m: any) => void> = []
      const m: any = {
        set: (a: any, b?: number[]) => { const [l, v] = Array.isArray(a) ? [undefined, a] : [a, b ?? []]; values.set(key(l, names), v) },
        addCollect: (fn: (x: any) => void) => { collects.push(fn) }
      }
      metrics.registerMetricGroup(config.name, {
        help: config.help,
        label: names.length === 0 ? 'stat' : `${names.join('_')}_stat`,
        calculate: () => {
          for (const fn of collects) fn(m)
          const out: Record<string, number> = {}
          for (const [k, v] of values) {
            const p = k === '' ? '' : `${k}/`
            out[`${p}count`] = v.length
            if (v.length === 0) continue
            out[`${p}avg`] = v.reduce((x, y) => x + y, 0) / v.length
            out[`${p}min`] = Math.min(...v)
            out[`${p}max`] = Math.max(...v)
          }
          return out
        }
      })
      return m
    }
  } as unknown as MetricsRegister
}

/**
 * Gossipsub topic labels: the topic's kind (`offers`, `bids`, `receipts`,
 * `presence`), never its region, so the label set stays fixed however many
 * regions a fleet has; any other topic is `other`.
 */
export class TopicKindLabels extends Map<string, string> implements TopicStrToLabel {
  override get (topic: string): string {
    if (topic === RECEIPTS_TOPIC) return 'receipts'
    if (topic === PRESENCE_TOPIC) return 'presence'
    return parseRegionTopic(topic)?.kind ?? 'other'
  }

  override has (_topic: string): boolean { return true }
}
