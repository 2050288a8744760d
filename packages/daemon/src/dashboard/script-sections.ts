/**
 * The dashboard script's sections that show one API answer each: node,
 * peers, receipts, balances, vehicle owners' earnings per day, and this
 * worker's own leases (held, and ended with the reason a lost lease ended).
 */
export const SCRIPT_SECTIONS = `
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

// a micro-batch receipt (<job>/mb/<seq>) or a re-run (<job>/verify/<shard>/<attempt>) belongs to its job
function baseJobOf (id) {
  const mb = id.indexOf('/mb/')
  if (mb >= 0) return id.slice(0, mb)
  const v = id.indexOf('/verify/')
  return v >= 0 ? id.slice(0, v) : id
}

function renderReceipts (data) {
  const receipts = Array.isArray(data.receipts) ? data.receipts : []
  setCount('receipts-count', receipts.length === 0 ? '' : 'latest ' + receipts.length)
  if (receipts.length === 0) return fill('receipts-body', empty('No receipts yet.'))
  fill('receipts-body', table(['Finished', 'Job', { text: 'Shard', cls: 'num' }, 'Worker', 'Requester', { text: 'Units', cls: 'num' }, { text: 'Credits', cls: 'num' }, { text: 'Compute', cls: 'num' }, 'Signed'],
    receipts.map(r => h('tr', { 'data-testid': 'receipt', 'data-receipt-id': str(r.id), 'data-job-id': baseJobOf(str(r.jobId)) },
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


function renderOwnerEarnings (data) {
  const days = Array.isArray(data.days) ? data.days : []
  setCount('earnings-count', days.length === 0 ? '' : days.length + (days.length === 1 ? ' owner-day' : ' owner-days'))
  if (days.length === 0) return fill('earnings-body', empty('No vehicle owner has earned yet.'))
  fill('earnings-body', table(['Day (UTC)', 'Owner', { text: 'Credits', cls: 'num' }, { text: 'Shards', cls: 'num' }],
    days.slice(0, 60).map(d => h('tr', { 'data-testid': 'owner-day', 'data-owner': str(d.owner), 'data-day': str(d.day) },
      h('td', null, str(d.day)),
      h('td', { class: 'mono' }, str(d.owner)),
      h('td', { class: 'num' }, credits(d.credits)),
      h('td', { class: 'num' }, num(d.shards))))))
}

function leaseRow (l) {
  const end = typeof l.endedAt === 'number' ? l.endedAt : Date.now()
  const shard = (l.mode === 'pipeline' ? 'stage ' : 'shard ') + str(l.shardIndex) + (l.shardCount > 0 ? ' of ' + str(l.shardCount) : '')
  let progress = duration(end - (l.startedAt ?? end))
  if (l.state === 'active' && typeof l.deadline === 'number') progress += ' (deadline ' + time(l.deadline) + ')'
  return h('tr', { 'data-testid': 'lease', 'data-lease-id': str(l.leaseId), 'data-job-id': str(l.jobId), 'data-state': str(l.state) },
    h('td', null, idSpan(l.jobId)),
    h('td', null, shard),
    h('td', null, idSpan(l.requester)),
    h('td', null, badge(l.state === 'completed' ? 'done' : l.state, l.state === 'completed' ? 'done' : l.state === 'active' ? 'running' : 'lost'),
      l.reason != null ? h('div', { class: 'muted', 'data-testid': 'lease-reason' }, str(l.reason)) : null),
    h('td', { class: 'num' }, progress),
    h('td', { class: 'num' }, credits(l.credits), l.earned === true ? '' : h('span', { class: 'muted', title: 'paid once the requester countersigns the receipt' }, l.state === 'active' ? ' expected' : l.state === 'completed' ? ' unsigned' : ' not paid')))
}
function renderLeases (data) {
  const held = Array.isArray(data.held) ? data.held : []
  const ended = Array.isArray(data.ended) ? data.ended : []
  setCount('leases-count', held.length + ' held' + (ended.length > 0 ? ', ' + ended.length + ' ended' : ''))
  if (held.length === 0 && ended.length === 0) return fill('leases-body', empty('This node has held no lease as a worker.'))
  const head = ['Job', 'Shard', 'Requester', 'State', { text: 'Time', cls: 'num' }, { text: 'Credits', cls: 'num' }]
  fill('leases-body',
    h('h3', null, 'Held now'), held.length === 0 ? empty('None.') : table(head, held.map(leaseRow)),
    ended.length > 0 ? [h('h3', null, 'Ended'), table(head, ended.slice(0, 20).map(leaseRow))] : null)
}

function renderSessions (data) {
  const sessions = Array.isArray(data.sessions) ? data.sessions : []
  setCount('sessions-count', sessions.length + ' open')
  if (sessions.length === 0) return fill('sessions-body', empty('No open session.'))
  fill('sessions-body', table(['Session', 'Model', { text: 'Stages', cls: 'num' }, { text: 'Steps', cls: 'num' }, { text: 'Tokens', cls: 'num' }, { text: 'Step p50', cls: 'num' }, 'Workers'],
    sessions.map(s => h('tr', { 'data-testid': 'session', 'data-session-id': str(s.sessionId), 'data-state': str(s.state) },
      h('td', null, idSpan(s.sessionId)),
      h('td', null, idSpan(s.model)),
      h('td', { class: 'num' }, num(s.stages)),
      h('td', { class: 'num', 'data-testid': 'session-steps' }, num(s.steps)),
      h('td', { class: 'num' }, num(s.tokens)),
      h('td', { class: 'num' }, s.stepMs != null && typeof s.stepMs.p50 === 'number' ? num(s.stepMs.p50, 1) + ' ms' : '\\u2013'),
      h('td', null, (Array.isArray(s.workers) ? s.workers : []).map(w => h('div', { 'data-testid': 'session-worker', 'data-peer-id': str(w.peerId) }, 'stage ' + str(w.stage) + ' ', idSpan(w.peerId))))))))
}
`
