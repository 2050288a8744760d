/**
 * The dashboard script's charts: the last hour of the daemon's time series
 * (`GET /api/v1/series?since=`, only new samples after the first answer)
 * drawn with uPlot (bundled into the page), one chart per figure, each as
 * wide as its box (resized with it).
 */
export const SCRIPT_CHARTS = `
const SERIES_WINDOW_S = 3600
const CHARTS = [
  { id: 'items', title: 'Throughput', unit: '/s', series: [
    { label: 'items/s (own jobs)', stroke: '#1f6feb', value: s => s.itemsPerSec },
    { label: 'units/s (as worker)', stroke: '#1a7f37', value: s => s.workerUnitsPerSec }] },
  { id: 'latency', title: 'Micro-batch latency', unit: ' ms', series: [
    { label: 'p50 ms', stroke: '#1f6feb', value: s => s.latencyP50 == null ? null : s.latencyP50 * 1000 },
    { label: 'p99 ms', stroke: '#c62828', value: s => s.latencyP99 == null ? null : s.latencyP99 * 1000 }] },
  { id: 'credits', title: 'Credits (ledger totals)', unit: '', series: [
    { label: 'earned', stroke: '#1a7f37', value: s => s.creditsEarned },
    { label: 'spent', stroke: '#b26a00', value: s => s.creditsSpent }] },
  { id: 'peers', title: 'Peers by role', unit: '', series: [
    { label: 'stations', stroke: '#0b3d91', value: s => (s.peers ?? {}).station ?? 0 },
    { label: 'vehicles', stroke: '#1a5c2a', value: s => (s.peers ?? {}).vehicle ?? 0 }] }
]
const samples = []
let seriesSince = 0
const plots = new Map()

function chartData (c) {
  return [samples.map(s => s.at / 1000), ...c.series.map(x => samples.map(s => { const v = x.value(s); return typeof v === 'number' && Number.isFinite(v) ? v : null }))]
}
function chartWidth (el) { return Math.max(200, Math.floor(el.getBoundingClientRect().width)) }
function ensureCharts () {
  if (plots.size > 0 || typeof uPlot !== 'function') return
  const box = $('charts-body')
  box.replaceChildren()
  for (const c of CHARTS) {
    const holder = h('div', { class: 'chart', 'data-testid': 'chart', 'data-chart': c.id }, h('h3', null, c.title))
    box.append(holder)
    const opts = {
      width: chartWidth(holder),
      height: 150,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{ stroke: '#66727f', grid: { stroke: 'rgba(128,128,128,.15)' } }, { stroke: '#66727f', grid: { stroke: 'rgba(128,128,128,.15)' }, size: 50 }],
      series: [{}, ...c.series.map(x => ({ label: x.label, stroke: x.stroke, width: 1.5, spanGaps: false }))]
    }
    plots.set(c.id, { chart: c, holder, plot: new uPlot(opts, chartData(c), holder) })
  }
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(() => { for (const p of plots.values()) p.plot.setSize({ width: chartWidth(p.holder), height: 150 }) })
    for (const p of plots.values()) ro.observe(p.holder)
  }
}
function renderSeries (data) {
  const fresh = Array.isArray(data.samples) ? data.samples : []
  for (const s of fresh) if (typeof s.at === 'number' && (samples.length === 0 || s.at > samples[samples.length - 1].at)) samples.push(s)
  if (typeof data.now === 'number') seriesSince = samples.length > 0 ? samples[samples.length - 1].at : 0
  const oldest = Date.now() - SERIES_WINDOW_S * 1000
  while (samples.length > 0 && samples[0].at < oldest) samples.shift()
  if (typeof uPlot !== 'function') return fill('charts-body', h('div', { class: 'err' }, 'The chart library did not load.'))
  ensureCharts()
  setCount('charts-count', samples.length === 0 ? '' : samples.length + (samples.length === 1 ? ' sample' : ' samples') + ' over the last hour')
  if (fresh.length === 0) return
  for (const p of plots.values()) p.plot.setData(chartData(p.chart))
}
`
