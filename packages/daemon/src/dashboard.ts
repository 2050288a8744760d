import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'

/**
 * The daemon's dashboard: one self-contained HTML page (inline CSS and
 * plain JS, no external URLs) served at `GET /` without auth. The page
 * takes the API token from the URL fragment (`#token=…`, never sent to the
 * server), keeps it in sessionStorage, drops it from the address bar, and
 * polls the JSON API every second with `Authorization: Bearer <token>`.
 *
 * Every string from the API reaches the DOM through `textContent` /
 * `setAttribute`, never through HTML parsing, and the page's Content
 * Security Policy allows only its own inline script and style (by hash)
 * and requests to its own origin.
 *
 * Stable hooks for tests and scripts: `data-testid` on each section
 * (`banner`, `node-info`, `peers`, `jobs`, `receipts`, `balances`), on each
 * row (`peer`, `job`, `receipt`, `balance`, `owner`) with `data-peer-id` /
 * `data-job-id` / `data-state`, and `data-state` on the banner
 * (`loading`, `ok`, `no-token`, `unauthorized`, `unreachable`, `error`).
 */

const STYLE = `
:root {
  --bg: #f4f6f8; --card: #fff; --fg: #1d2733; --muted: #66727f; --line: #e2e7ec;
  --accent: #1f6feb; --ok: #1a7f37; --warn: #b26a00; --bad: #c62828; --bar: #dde5ee;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f141a; --card: #171e26; --fg: #dfe6ee; --muted: #8b98a6; --line: #28323d; --bar: #28323d; --accent: #4c8dff; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 17px; margin: 0; letter-spacing: .2px; }
header h1 span { color: var(--accent); }
#conn { margin-left: auto; color: var(--muted); font-size: 12px; }
#conn::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--muted); vertical-align: 1px; }
#conn[data-state=ok]::before { background: var(--ok); }
#conn[data-state=unauthorized]::before, #conn[data-state=unreachable]::before, #conn[data-state=error]::before { background: var(--bad); }
#banner { margin: 14px 20px 0; padding: 10px 14px; border-radius: 6px; border: 1px solid; }
#banner[data-state=ok], #banner[data-state=loading] { display: none; }
#banner[data-state=unauthorized], #banner[data-state=unreachable], #banner[data-state=error] { background: #fdecea; border-color: #f5c2c0; color: #8a1c1c; }
#banner[data-state=no-token] { background: #fff8e1; border-color: #f0d98a; color: #6b4e00; }
#banner strong { display: block; margin-bottom: 2px; }
#token-form { display: none; margin-top: 8px; gap: 6px; }
#banner[data-state=unauthorized] #token-form, #banner[data-state=no-token] #token-form { display: flex; }
#token-form input { flex: 1; max-width: 420px; padding: 4px 8px; font: inherit; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 14px; padding: 14px 20px 24px; }
main.stale section { opacity: .55; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 8px; display: flex; gap: 8px; align-items: baseline; }
section h2 .count { font-weight: normal; text-transform: none; letter-spacing: 0; }
h3 { font-size: 13px; margin: 12px 0 4px; }
h3:first-child { margin-top: 0; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); padding: 3px 6px; }
td { border-bottom: 1px solid var(--line); padding: 4px 6px; vertical-align: top; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.scroll { overflow-x: auto; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.id { white-space: nowrap; word-break: normal; }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; padding: 4px 0; }
.err { color: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; background: var(--bar); white-space: nowrap; }
.badge.station { background: #dbe9ff; color: #0b3d91; }
.badge.vehicle { background: #e3f5e1; color: #1a5c2a; }
.badge.running { background: #dbe9ff; color: #0b3d91; }
.badge.done { background: #e3f5e1; color: #1a5c2a; }
.badge.failed, .badge.lost { background: #fdecea; color: #8a1c1c; }
.badge.cancelled { background: #eceff1; color: #455a64; }
.job { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; }
.job:last-child { margin-bottom: 0; }
.job-head { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; }
.job-head .mono { font-weight: 600; }
.progress { display: flex; align-items: center; gap: 8px; margin: 6px 0; }
.bar { flex: 1; height: 8px; background: var(--bar); border-radius: 4px; overflow: hidden; }
.bar > div { height: 100%; width: 0; background: var(--accent); transition: width .4s; }
.job[data-state=done] .bar > div { background: var(--ok); }
.job[data-state=failed] .bar > div { background: var(--bad); }
.job table { margin-top: 4px; }
.pos { color: var(--ok); }
.neg { color: var(--bad); }
`

const SCRIPT = `
'use strict'
const TOKEN_KEY = 'fleetmesh.token'
const POLL_MS = 1000
const REQUEST_TIMEOUT_MS = 5000
const MAX_JOBS = 25
const ENDPOINTS = {
  info: '/api/v1/info',
  peers: '/api/v1/peers',
  jobs: '/api/v1/jobs',
  receipts: '/api/v1/receipts?limit=50',
  balances: '/api/v1/balances'
}

let token = null
let selfId = null
let lastOkAt = 0
let timer = null
const rendered = {}

// Builds an element; children that are not nodes become text nodes, so API
// strings are never parsed as HTML.
function h (tag, attrs, ...children) {
  const el = document.createElement(tag)
  if (attrs != null) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue
      if (k === 'class') el.className = v
      else el.setAttribute(k, String(v))
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}
const $ = id => document.getElementById(id)
const str = v => v == null ? '' : String(v)
const short = id => { const s = str(id); return s.length > 18 ? s.slice(0, 8) + '\\u2026' + s.slice(-6) : s }
const idSpan = id => h('span', { class: 'mono id', title: str(id) }, short(id))
const fullId = id => h('span', { class: 'mono' }, str(id))
const num = (v, digits) => typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString(undefined, { maximumFractionDigits: digits ?? 0 }) : '\\u2013'
const credits = v => num(v, 6)
const time = ms => typeof ms === 'number' && ms > 0 ? new Date(ms).toLocaleTimeString() : '\\u2013'
const dateTime = ms => typeof ms === 'number' && ms > 0 ? new Date(ms).toLocaleString() : '\\u2013'
function duration (ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '\\u2013'
  if (ms < 1000) return Math.round(ms) + ' ms'
  let s = Math.floor(ms / 1000)
  const d = Math.floor(s / 86400); s -= d * 86400
  const hh = Math.floor(s / 3600); s -= hh * 3600
  const mm = Math.floor(s / 60); s -= mm * 60
  const p = n => String(n).padStart(2, '0')
  if (d > 0) return d + 'd ' + hh + 'h ' + p(mm) + 'm'
  if (hh > 0) return hh + 'h ' + p(mm) + 'm ' + p(s) + 's'
  if (mm > 0) return mm + 'm ' + p(s) + 's'
  return s + 's'
}
const badge = (text, cls) => h('span', { class: 'badge ' + str(cls).replace(/[^a-z-]/g, '') }, str(text))
const empty = text => h('div', { class: 'empty' }, text)
const selfMark = id => id != null && id === selfId ? h('span', { class: 'muted' }, ' (this node)') : null
function table (head, rows) {
  return h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, head.map(c => typeof c === 'string' ? h('th', null, c) : h('th', { class: c.cls, title: c.title }, c.text)))),
    h('tbody', null, rows)))
}
function fill (id, ...children) {
  const el = $(id)
  el.replaceChildren(...children.flat(Infinity).filter(c => c != null))
}
function setCount (id, text) { $(id).textContent = text }

// ---- sections -------------------------------------------------------------

function renderInfo (info) {
  selfId = str(info.peerId)
  const rows = [
    ['PeerId', h('span', { class: 'mono', 'data-testid': 'node-peer-id' }, str(info.peerId))],
    ['Role', h('span', { 'data-testid': 'node-role' }, badge(info.role, info.role))],
    ['Region', h('span', { 'data-testid': 'node-region' }, str(info.region))],
    ['Uptime', h('span', { 'data-testid': 'node-uptime' }, duration(info.uptimeMs))],
    ['Started', dateTime(info.startedAt)],
    ['Version', str(info.version)],
    ['Worker', workerText(info.worker)]
  ]
  if (info.vehicle != null && typeof info.vehicle === 'object') {
    const v = info.vehicle
    rows.push(['Vehicle', h('div', null, h('span', { 'data-testid': 'node-vehicle' }, str(v.state),
      typeof v.soc === 'number' ? ' \\u00b7 SoC ' + Math.round(v.soc * 100) + ' %' : '',
      typeof v.batteryTempC === 'number' ? ' \\u00b7 ' + num(v.batteryTempC, 1) + ' \\u00b0C' : '',
      typeof v.bidding === 'boolean' ? ' \\u00b7 ' + (v.bidding ? 'bidding' : 'not bidding') : ''),
      typeof v.reason === 'string' && v.bidding !== true ? h('div', { class: 'muted', 'data-testid': 'node-vehicle-reason' }, str(v.reason)) : '')])
  }
  const addrs = Array.isArray(info.multiaddrs) ? info.multiaddrs : []
  rows.push(['Addresses', addrs.length === 0 ? h('span', { class: 'muted' }, 'none') : h('div', null, addrs.map(a => h('div', { class: 'mono' }, str(a))))])
  fill('node-body', h('dl', null, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])))
  document.title = 'fleetmesh \\u00b7 ' + str(info.role) + ' ' + short(info.peerId)
}
function workerText (w) {
  if (w == null) return '\\u2013'
  if (typeof w === 'boolean') return w ? 'yes' : 'no'
  if (typeof w !== 'object') return str(w)
  return Object.entries(w).map(([k, v]) => k + ': ' + (v != null && typeof v === 'object' ? JSON.stringify(v) : str(v))).join(' \\u00b7 ')
}

const ROLE_ORDER = { station: 0, vehicle: 1 }
function renderPeers (data) {
  const peers = Array.isArray(data.peers) ? data.peers : []
  setCount('peers-count', peers.length + (peers.length === 1 ? ' peer' : ' peers'))
  if (peers.length === 0) return fill('peers-body', empty('No admitted peers yet.'))
  const groups = new Map()
  for (const p of peers) {
    const key = str(p.role) + '\\u0000' + str(p.region)
    if (!groups.has(key)) groups.set(key, { role: str(p.role), region: str(p.region), peers: [] })
    groups.get(key).peers.push(p)
  }
  const sorted = [...groups.values()].sort((a, b) =>
    ((ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9)) || a.region.localeCompare(b.region))
  const rtt = p => typeof p.rttMs === 'number' ? p.rttMs : Infinity
  fill('peers-body', sorted.map(g => [
    h('h3', { 'data-testid': 'peer-group', 'data-role': g.role, 'data-region': g.region },
      badge(g.role || 'unknown', g.role), ' ', g.region || 'no region', ' ', h('span', { class: 'muted' }, '(' + g.peers.length + ')')),
    table(['PeerId', { text: 'RTT', cls: 'num' }, { text: 'Addrs', cls: 'num' }],
      g.peers.sort((a, b) => rtt(a) - rtt(b)).map(p => {
        const addrs = Array.isArray(p.multiaddrs) ? p.multiaddrs.map(str) : []
        return h('tr', { 'data-testid': 'peer', 'data-peer-id': str(p.peerId), 'data-role': str(p.role), 'data-region': str(p.region) },
          h('td', null, fullId(p.peerId)),
          h('td', { class: 'num' }, typeof p.rttMs === 'number' ? num(p.rttMs, 1) + ' ms' : '\\u2013'),
          h('td', { class: 'num', title: addrs.join('\\n') }, String(addrs.length)))
      }))
  ]))
}

function renderJobs (data) {
  const jobs = Array.isArray(data.jobs) ? data.jobs.slice() : []
  const running = jobs.filter(j => j.state === 'running').length
  setCount('jobs-count', jobs.length + (jobs.length === 1 ? ' job' : ' jobs') + (running > 0 ? ', ' + running + ' running' : ''))
  const leases = Array.isArray(data.leases) ? data.leases : []
  const leaseNote = leases.length > 0 ? h('div', { class: 'muted', 'data-testid': 'worker-leases' }, 'This node holds ' + leases.length + (leases.length === 1 ? ' lease' : ' leases') + ' as a worker.') : null
  if (jobs.length === 0) return fill('jobs-body', empty('No jobs submitted from this node yet.'), leaseNote)
  // running jobs first, then newest first
  jobs.sort((a, b) => ((a.state === 'running' ? 0 : 1) - (b.state === 'running' ? 0 : 1)) || ((b.submittedAt ?? 0) - (a.submittedAt ?? 0)))
  const shown = jobs.slice(0, MAX_JOBS)
  fill('jobs-body', shown.map(renderJob), jobs.length > shown.length ? h('div', { class: 'muted' }, (jobs.length - shown.length) + ' older jobs not shown') : null, leaseNote)
}
function renderJob (j) {
  const mb = j.microBatches ?? {}
  const total = typeof mb.total === 'number' ? mb.total : 0
  const done = typeof mb.done === 'number' ? mb.done : 0
  const pct = total > 0 ? Math.max(0, Math.min(100, (done / total) * 100)) : (j.state === 'done' ? 100 : 0)
  const fillEl = h('div')
  fillEl.style.width = pct.toFixed(1) + '%'
  const end = typeof j.finishedAt === 'number' ? j.finishedAt : Date.now()
  const workers = Array.isArray(j.workers) ? j.workers : []
  const events = Array.isArray(j.events) ? j.events : []
  const last = events.length > 0 ? events[events.length - 1] : null
  const s = j.settlement
  return h('div', { class: 'job', 'data-testid': 'job', 'data-job-id': str(j.jobId), 'data-state': str(j.state) },
    h('div', { class: 'job-head' },
      h('span', { class: 'mono', 'data-testid': 'job-id' }, str(j.jobId)),
      h('span', { 'data-testid': 'job-state' }, badge(j.state, j.state)),
      h('span', null, str(j.mode)),
      h('span', { class: 'muted' }, 'model ', idSpan(j.model)),
      h('span', { class: 'muted' }, 'batch ' + num(j.batch)),
      h('span', { class: 'muted' }, 'submitted ' + time(j.submittedAt) + ' \\u00b7 ' + duration(end - (j.submittedAt ?? end)))),
    h('div', { class: 'progress' },
      h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': done }, fillEl),
      h('span', { class: 'num', 'data-testid': 'job-progress' }, done + ' / ' + total + ' micro-batches')),
    j.error != null ? h('div', { class: 'err', 'data-testid': 'job-error' }, str(j.error)) : null,
    workers.length === 0
      ? h('div', { class: 'muted' }, j.state === 'running' ? 'Waiting for bids\\u2026' : 'No workers.')
      : table([j.mode === 'pipeline' ? 'Stage' : 'Shard', 'Worker', 'Lease', 'State'],
        workers.map(w => h('tr', { 'data-testid': 'job-worker', 'data-peer-id': str(w.peerId), 'data-state': str(w.state) },
          h('td', null, str(w.shard)),
          h('td', null, idSpan(w.peerId)),
          h('td', null, idSpan(w.leaseId)),
          h('td', null, badge(w.state, w.state))))),
    last != null ? h('div', { class: 'muted' }, 'last event: ' + eventText(last)) : null,
    s != null && typeof s === 'object'
      ? h('div', { class: 'muted', 'data-testid': 'job-settlement' },
        'settlement: ' + count(s.accepted) + ' accepted \\u00b7 ' + count(s.rejected) + ' rejected \\u00b7 ' + count(s.evidence) + ' evidence')
      : null)
}
const count = v => Array.isArray(v) ? v.length : typeof v === 'number' ? v : 0
function eventText (e) {
  const who = e.worker != null ? ' ' + short(e.worker) : ''
  switch (e.type) {
    case 'bid': return 'bid from ' + short(e.bidder)
    case 'awarded': return 'shard ' + str(e.shard) + ' awarded to' + who
    case 'lease-lost': return 'lease lost by' + who + (e.reason != null ? ' (' + str(e.reason) + ')' : '')
    case 'shard-started': return 'micro-batch ' + str(e.seq) + ' started on' + who
    case 'shard-finished': return 'micro-batch ' + str(e.seq) + ' finished on' + who + ' in ' + duration(e.computeMs)
    case 'failed': return 'failed: ' + str(e.error)
    default: return str(e.type)
  }
}

function renderReceipts (data) {
  const receipts = Array.isArray(data.receipts) ? data.receipts : []
  setCount('receipts-count', receipts.length === 0 ? '' : 'latest ' + receipts.length)
  if (receipts.length === 0) return fill('receipts-body', empty('No receipts yet.'))
  fill('receipts-body', table(['Finished', 'Job', { text: 'Shard', cls: 'num' }, 'Worker', 'Requester', { text: 'Units', cls: 'num' }, { text: 'Credits', cls: 'num' }, { text: 'Compute', cls: 'num' }, 'Signed'],
    receipts.map(r => h('tr', { 'data-testid': 'receipt', 'data-receipt-id': str(r.id), 'data-job-id': str(r.jobId) },
      h('td', { title: str(r.id) }, time(r.finishedAt)),
      h('td', null, idSpan(r.jobId)),
      h('td', { class: 'num' }, str(r.shardIndex) + (r.replica > 0 ? '/r' + str(r.replica) : '')),
      h('td', null, idSpan(r.worker), selfMark(r.worker)),
      h('td', null, idSpan(r.requester), selfMark(r.requester)),
      h('td', { class: 'num' }, num(r.units)),
      h('td', { class: 'num' }, typeof r.units === 'number' && typeof r.pricePerUnit === 'number' ? credits(r.units * r.pricePerUnit) : '\\u2013'),
      h('td', { class: 'num' }, duration(r.computeMs)),
      h('td', null, r.countersigned === true ? badge('countersigned', 'done') : badge('worker only', 'running'))))))
}

function renderBalances (b) {
  const peers = b.peers != null && typeof b.peers === 'object' ? Object.values(b.peers) : []
  const owners = b.owners != null && typeof b.owners === 'object' ? Object.values(b.owners) : []
  setCount('balances-count', typeof b.receipts === 'number' ? 'from ' + b.receipts + ' countersigned receipts' : '')
  const signed = v => h('span', { class: v > 0 ? 'pos' : v < 0 ? 'neg' : '' }, credits(v))
  const out = []
  out.push(h('h3', null, 'Peers'))
  out.push(peers.length === 0
    ? empty('No countersigned receipts yet.')
    : table(['Account', { text: 'Credits', cls: 'num' }, { text: 'Earned', cls: 'num' }, { text: 'Spent', cls: 'num' }, { text: 'Run', cls: 'num', title: 'shards run as worker (countersigned receipts)' }, { text: 'Paid', cls: 'num', title: 'shards paid as requester (countersigned receipts)' }],
      peers.sort((x, y) => (y.credits ?? 0) - (x.credits ?? 0)).map(a => h('tr', { 'data-testid': 'balance', 'data-peer-id': str(a.account) },
        h('td', null, idSpan(a.account), selfMark(a.account)),
        h('td', { class: 'num' }, signed(a.credits)),
        h('td', { class: 'num' }, credits(a.earned)),
        h('td', { class: 'num' }, credits(a.spent)),
        h('td', { class: 'num' }, num(a.receiptsAsWorker)),
        h('td', { class: 'num' }, num(a.receiptsAsRequester))))))
  out.push(h('h3', null, 'Vehicle earnings (by owner)'))
  out.push(owners.length === 0
    ? empty('No vehicle has earned yet.')
    : table(['Owner', { text: 'Earned', cls: 'num' }, { text: 'Net credits', cls: 'num' }, { text: 'Shards', cls: 'num' }],
      owners.sort((x, y) => (y.earned ?? 0) - (x.earned ?? 0)).map(a => h('tr', { 'data-testid': 'owner', 'data-owner': str(a.account) },
        h('td', { class: 'mono' }, str(a.account)),
        h('td', { class: 'num' }, credits(a.earned)),
        h('td', { class: 'num' }, signed(a.credits)),
        h('td', { class: 'num' }, num(a.receiptsAsWorker))))))
  fill('balances-body', out)
}

const RENDER = { info: renderInfo, peers: renderPeers, jobs: renderJobs, receipts: renderReceipts, balances: renderBalances }
const BODY = { info: 'node-body', peers: 'peers-body', jobs: 'jobs-body', receipts: 'receipts-body', balances: 'balances-body' }

// ---- polling --------------------------------------------------------------

function setState (state, title, detail) {
  const banner = $('banner')
  banner.dataset.state = state
  $('banner-title').textContent = title
  $('banner-detail').textContent = detail ?? ''
  const conn = $('conn')
  conn.dataset.state = state
  conn.textContent = state === 'ok' ? 'live \\u00b7 updated ' + new Date().toLocaleTimeString() : title
  $('main').classList.toggle('stale', state !== 'ok' && state !== 'loading')
}

class ApiError extends Error {
  constructor (kind, message) { super(message); this.kind = kind }
}
async function getJson (path) {
  let res
  try {
    res = await fetch(path, {
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    })
  } catch (err) {
    throw new ApiError('unreachable', err && err.name === 'TimeoutError' ? 'no answer within ' + REQUEST_TIMEOUT_MS / 1000 + ' s' : 'connection failed')
  }
  if (!res.ok) {
    let msg = ''
    try {
      const body = await res.json()
      const m = body && (body.error && body.error.message != null ? body.error.message : body.message)
      if (m != null) msg = String(m)
    } catch {}
    if (res.status === 401 || res.status === 403) throw new ApiError('unauthorized', msg)
    throw new ApiError('http', 'HTTP ' + res.status + (msg ? ': ' + msg : ''))
  }
  try { return await res.json() } catch { throw new ApiError('http', 'invalid JSON') }
}

async function poll () {
  timer = null
  if (!token) {
    setState('no-token', 'No API token', 'Open the dashboard URL that the daemon printed (it ends in #token=\\u2026), or paste the token below.')
    return
  }
  const names = Object.keys(ENDPOINTS)
  const results = await Promise.allSettled(names.map(n => getJson(ENDPOINTS[n])))
  const errors = results.filter(r => r.status === 'rejected').map(r => r.reason)
  const denied = errors.find(e => e.kind === 'unauthorized')
  if (denied != null) {
    setState('unauthorized', '401 Unauthorized: the daemon rejected this API token',
      (denied.message ? 'The daemon says: ' + denied.message + '. ' : '') + 'Open the dashboard URL that the daemon printed (it ends in #token=\\u2026), or paste the token below.')
  } else if (errors.length === names.length && errors.every(e => e.kind === 'unreachable')) {
    setState('unreachable', 'Daemon unreachable',
      'No answer from ' + location.origin + (lastOkAt > 0 ? ' since ' + new Date(lastOkAt).toLocaleTimeString() : '') + ' (' + errors[0].message + '). Retrying every second; the figures below are the last ones received.')
  } else {
    names.forEach((n, i) => {
      const r = results[i]
      if (r.status === 'fulfilled') {
        try {
          RENDER[n](r.value ?? {})
          rendered[n] = true
        } catch (err) {
          fill(BODY[n], h('div', { class: 'err' }, 'Cannot show this data: ' + String(err && err.message)))
        }
      } else if (!rendered[n]) {
        fill(BODY[n], h('div', { class: 'err' }, ENDPOINTS[n] + ': ' + r.reason.message))
      }
    })
    lastOkAt = Date.now()
    if (errors.length > 0) setState('error', 'Some requests failed', errors.map(e => e.message).join('; '))
    else setState('ok', 'Connected')
  }
  schedule()
}
function schedule () {
  if (timer == null) timer = setTimeout(() => { void poll() }, POLL_MS)
}
function pollNow () {
  if (timer != null) { clearTimeout(timer); timer = null }
  void poll()
}

function readTokenFromHash () {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash)
  if (m == null) return
  let t = m[1]
  try { t = decodeURIComponent(t) } catch {}
  if (t) {
    token = t
    try { sessionStorage.setItem(TOKEN_KEY, t) } catch {}
  }
  // keep the token out of the address bar, history and bookmarks
  history.replaceState(null, '', location.pathname + location.search)
}

try { token = sessionStorage.getItem(TOKEN_KEY) } catch {}
readTokenFromHash()
window.addEventListener('hashchange', () => { readTokenFromHash(); pollNow() })
$('token-form').addEventListener('submit', ev => {
  ev.preventDefault()
  const t = $('token-input').value.trim()
  if (!t) return
  token = t
  try { sessionStorage.setItem(TOKEN_KEY, t) } catch {}
  $('token-input').value = ''
  pollNow()
})
setState('loading', 'Connecting\\u2026')
void poll()
`

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64')

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>fleetmesh dashboard</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1><span>fleet</span>mesh</h1>
  <span id="conn" data-testid="connection" data-state="loading">connecting…</span>
</header>
<div id="banner" data-testid="banner" data-state="loading" role="status" aria-live="polite">
  <strong id="banner-title"></strong>
  <span id="banner-detail"></span>
  <form id="token-form" autocomplete="off">
    <input id="token-input" type="password" placeholder="API token" aria-label="API token">
    <button type="submit">Use token</button>
  </form>
</div>
<main id="main">
  <section id="node" data-testid="node-info"><h2>Node</h2><div id="node-body"><div class="empty">Loading…</div></div></section>
  <section id="balances" data-testid="balances"><h2>Balances <span class="count" id="balances-count"></span></h2><div id="balances-body"><div class="empty">Loading…</div></div></section>
  <section id="peers" data-testid="peers"><h2>Peers <span class="count" id="peers-count"></span></h2><div id="peers-body"><div class="empty">Loading…</div></div></section>
  <section id="jobs" class="wide" data-testid="jobs"><h2>Jobs <span class="count" id="jobs-count"></span></h2><div id="jobs-body"><div class="empty">Loading…</div></div></section>
  <section id="receipts" class="wide" data-testid="receipts"><h2>Recent receipts <span class="count" id="receipts-count"></span></h2><div id="receipts-body"><div class="empty">Loading…</div></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`

/**
 * Only the page's own inline script and style (pinned by hash) run, and the
 * page may fetch only from the daemon that served it.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${sha256(SCRIPT)}'`,
  `style-src 'sha256-${sha256(STYLE)}'`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

/**
 * Registers the dashboard page (`GET /`, no auth: the page itself holds no
 * data and calls the token-protected `/api/v1/*` routes from the browser)
 * on the daemon's HTTP server.
 */
export function registerDashboard (app: FastifyInstance): void {
  app.get('/', async (_req, reply) => reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(PAGE))
}
