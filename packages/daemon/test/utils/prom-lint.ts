import parsePrometheusTextFormat from 'parse-prometheus-text-format'

/** A metric family as parse-prometheus-text-format returns it (prom2json's shape). */
export interface MetricFamily {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: Array<{ labels?: Record<string, string>, value?: string, buckets?: Record<string, string>, count?: string, sum?: string }>
}

/** Parses a Prometheus text exposition. @throws Error on a malformed exposition */
export function parseExposition (text: string): MetricFamily[] {
  return (parsePrometheusTextFormat as unknown as (t: string) => MetricFamily[])(text)
}

/** Unit words that are not base units (promtool's "use base unit" rule). */
const NON_BASE_UNITS = ['milliseconds', 'microseconds', 'nanoseconds', 'minutes', 'hours', 'days', 'weeks', 'kilobytes', 'megabytes', 'gigabytes', 'terabytes', 'kibibytes', 'mebibytes', 'gibibytes', 'bits', 'percent', 'fahrenheit']
/** Abbreviated units (promtool's "no abbreviated units" rule). */
const ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'secs', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd']
/** Type names that do not belong in a metric name. */
const TYPE_WORDS = ['counter', 'gauge', 'histogram', 'summary']

/**
 * Prometheus naming rules (the ones `promtool check metrics` lints), as one
 * problem string per violation: snake_case names and labels, help text,
 * `_total` on counters and only on counters, base units (seconds, bytes,
 * ratios), no abbreviated units, no type in the name, no `le`/`quantile`
 * label outside histograms/summaries.
 */
export function lintFamilies (families: MetricFamily[]): string[] {
  const problems: string[] = []
  for (const f of families) {
    const say = (what: string): void => { problems.push(`${f.name}: ${what}`) }
    if (!/^[a-z_:][a-z0-9_:]*$/.test(f.name)) say('name is not snake_case')
    if (f.help == null || f.help.trim() === '') say('no help text')
    const words = f.name.split('_')
    if (f.type === 'COUNTER' && !f.name.endsWith('_total')) say('counter name does not end in _total')
    if (f.type !== 'COUNTER' && f.name.endsWith('_total')) say(`${f.type.toLowerCase()} name ends in _total (only counters do)`)
    for (const u of NON_BASE_UNITS) if (words.includes(u)) say(`non-base unit "${u}" (use seconds, bytes or a ratio)`)
    for (const a of ABBREVIATIONS) if (words.slice(1).includes(a)) say(`abbreviated unit "${a}"`)
    for (const t of TYPE_WORDS) if (words.includes(t)) say(`metric type "${t}" in the name`)
    if (f.type !== 'HISTOGRAM' && /_(bucket|count|sum)$/.test(f.name)) say('reserved suffix on a non-histogram')
    for (const m of f.metrics) {
      for (const label of Object.keys(m.labels ?? {})) {
        if (!/^[a-z_][a-z0-9_]*$/.test(label) || label.startsWith('__')) say(`label "${label}" is not snake_case`)
        if (label === 'le' && f.type !== 'HISTOGRAM') say('label "le" outside a histogram')
        if (label === 'quantile' && f.type !== 'SUMMARY') say('label "quantile" outside a summary')
      }
    }
  }
  return problems
}
