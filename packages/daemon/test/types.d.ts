declare module 'parse-prometheus-text-format' {
  /** Parses a Prometheus text exposition into prom2json-shaped metric families. */
  export default function parsePrometheusTextFormat (text: string): unknown[]
}
