import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { SCRIPT_BASE } from './script-base.js'
import { SCRIPT_CHARTS } from './script-charts.js'
import { SCRIPT_JOBS } from './script-jobs.js'
import { SCRIPT_MAIN } from './script-main.js'
import { SCRIPT_SECTIONS } from './script-sections.js'
import { PAGE_STYLE, UPLOT_STYLE } from './style.js'
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
 * Security Policy allows only its own inline scripts and styles (by hash:
 * the page's and uPlot's, read from the installed `uplot` package) and
 * requests to its own origin.
 *
 * The page is split by concern: `style.ts` (styles), `script-base.ts`
 * (DOM building, formats, fetch), `script-sections.ts` (node, peers,
 * receipts, balances, owners' earnings per day, this worker's leases,
 * open sessions),
 * `script-jobs.ts` (job history: deltas, collapsed cards, paging),
 * `script-charts.ts` (the last hour's time series) and `script-main.ts`
 * (polling, banner, token).
 *
 * Stable hooks for tests and scripts: `data-testid` on each section
 * (`banner`, `node-info`, `charts`, `peers`, `jobs`, `leases`, `receipts`,
 * `balances`, `earnings`, `sessions`), on each row (`peer`, `job`,
 * `job-worker`, `lease`, `receipt`, `balance`, `owner`, `owner-day`,
 * `session`, `session-worker`) with `data-peer-id` / `data-job-id` /
 * `data-lease-id` / `data-session-id` / `data-state`, on each
 * chart (`chart`, with `data-chart`: `items`, `latency`, `credits`,
 * `peers`), and `data-state` on the banner (`loading`, `ok`, `no-token`,
 * `unauthorized`, `unreachable`, `error`). Job cards are `<details>`
 * elements, closed until opened.
 */

const require = createRequire(import.meta.url)

/** uPlot's browser build, from the installed package (inlined, never fetched from elsewhere). */
const UPLOT_SCRIPT: string = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')

/** The page's own script: its parts in order. */
const SCRIPT = [SCRIPT_BASE, SCRIPT_SECTIONS, SCRIPT_JOBS, SCRIPT_CHARTS, SCRIPT_MAIN].join('\n')

const STYLE = `${UPLOT_STYLE}\n${PAGE_STYLE}`

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
  <section id="charts" class="wide" data-testid="charts"><h2>Last hour <span class="count" id="charts-count"></span></h2><div id="charts-body" class="charts"><div class="empty">Loading…</div></div></section>
  <section id="peers" data-testid="peers"><h2>Peers <span class="count" id="peers-count"></span></h2><div id="peers-body"><div class="empty">Loading…</div></div></section>
  <section id="leases" data-testid="leases"><h2>Leases as a worker <span class="count" id="leases-count"></span></h2><div id="leases-body"><div class="empty">Loading…</div></div></section>
  <section id="sessions" class="wide" data-testid="sessions"><h2>Open sessions <span class="count" id="sessions-count"></span></h2><div id="sessions-body"><div class="empty">Loading…</div></div></section>
  <section id="jobs" class="wide" data-testid="jobs"><h2>Jobs <span class="count" id="jobs-count"></span></h2><div id="jobs-body"><div class="empty">Loading…</div></div></section>
  <section id="earnings" data-testid="earnings"><h2>Owners' earnings per day <span class="count" id="earnings-count"></span></h2><div id="earnings-body"><div class="empty">Loading…</div></div></section>
  <section id="receipts" class="wide" data-testid="receipts"><h2>Recent receipts <span class="count" id="receipts-count"></span></h2><div id="receipts-body"><div class="empty">Loading…</div></div></section>
</main>
<script>${UPLOT_SCRIPT}</script>
<script>${SCRIPT}</script>
</body>
</html>
`

/**
 * Only the page's own inline scripts and style (pinned by hash) run, and
 * the page may fetch only from the daemon that served it.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${sha256(SCRIPT)}' 'sha256-${sha256(UPLOT_SCRIPT)}'`,
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
