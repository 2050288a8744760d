/**
 * The dashboard script's last part: polling (each endpoint on its own
 * period, deltas where the API has them), the connection banner, and the
 * API token (from the URL fragment, kept in sessionStorage, dropped from
 * the address bar).
 */
export const SCRIPT_MAIN = `
// each endpoint has its own period: the cheap, fast-changing ones every
// second, the ledger views every few seconds; jobs and series ask only for
// what changed since their last answer
const POLL_MS = 1000
const ENDPOINTS = [
  { name: 'info', body: 'node-body', everyMs: 1000, path: () => '/api/v1/info', render: renderInfo },
  { name: 'peers', body: 'peers-body', everyMs: 2000, path: () => '/api/v1/peers', render: renderPeers },
  { name: 'jobs', body: 'jobs-body', everyMs: 1000, path: () => '/api/v1/jobs?since=' + jobsSince, render: renderJobs },
  { name: 'leases', body: 'leases-body', everyMs: 2000, path: () => '/api/v1/leases', render: renderLeases },
  { name: 'sessions', body: 'sessions-body', everyMs: 1000, path: () => '/api/v1/sessions?open=1', render: renderSessions },
  { name: 'series', body: 'charts-body', everyMs: 5000, path: () => '/api/v1/series?since=' + seriesSince, render: renderSeries },
  { name: 'receipts', body: 'receipts-body', everyMs: 5000, path: () => '/api/v1/receipts?limit=50', render: renderReceipts },
  { name: 'balances', body: 'balances-body', everyMs: 5000, path: () => '/api/v1/balances', render: renderBalances },
  { name: 'earnings', body: 'earnings-body', everyMs: 10000, path: () => '/api/v1/earnings/owners', render: renderOwnerEarnings }
]
let lastOkAt = 0
let timer = null
const lastFetched = {}
const rendered = {}

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


async function poll () {
  timer = null
  if (!token) {
    setState('no-token', 'No API token', 'Open the dashboard URL that the daemon printed (it ends in #token=\\u2026), or paste the token below.')
    return
  }
  const now = Date.now()
  const due = ENDPOINTS.filter(e => !rendered[e.name] || now - (lastFetched[e.name] ?? 0) >= e.everyMs)
  for (const e of due) lastFetched[e.name] = now
  const results = await Promise.allSettled(due.map(e => getJson(e.path())))
  const errors = results.filter(r => r.status === 'rejected').map(r => r.reason)
  const denied = errors.find(e => e.kind === 'unauthorized')
  if (denied != null) {
    for (const e of due) delete lastFetched[e.name]
    setState('unauthorized', '401 Unauthorized: the daemon rejected this API token',
      (denied.message ? 'The daemon says: ' + denied.message + '. ' : '') + 'Open the dashboard URL that the daemon printed (it ends in #token=\\u2026), or paste the token below.')
  } else if (errors.length > 0 && errors.length === due.length && errors.every(e => e.kind === 'unreachable')) {
    for (const e of due) delete lastFetched[e.name]
    setState('unreachable', 'Daemon unreachable',
      'No answer from ' + location.origin + (lastOkAt > 0 ? ' since ' + new Date(lastOkAt).toLocaleTimeString() : '') + ' (' + errors[0].message + '). Retrying every second; the figures below are the last ones received.')
  } else {
    due.forEach((e, i) => {
      const r = results[i]
      if (r.status === 'fulfilled') {
        try {
          e.render(r.value ?? {})
          rendered[e.name] = true
        } catch (err) {
          fill(e.body, h('div', { class: 'err' }, 'Cannot show this data: ' + String(err && err.message)))
        }
      } else {
        delete lastFetched[e.name]
        if (!rendered[e.name]) fill(e.body, h('div', { class: 'err' }, e.path() + ': ' + r.reason.message))
      }
    })
    if (due.length > 0) lastOkAt = Date.now()
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
  for (const e of ENDPOINTS) delete lastFetched[e.name]
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
