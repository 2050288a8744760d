/**
 * The dashboard script's job history: summaries kept in the page and
 * updated from `GET /api/v1/jobs?since=` deltas, cards collapsed by default
 * (a card's workers and events are fetched from `GET /api/v1/jobs/:id` only
 * while it is open), running jobs first, then newest, a page at a time.
 */
export const SCRIPT_JOBS = `
// jobs: summaries kept by id and updated with deltas (?since=); a card's
// details (workers, events) are fetched only while it is open
const JOBS_PAGE_SIZE = 10
const jobs = new Map()
const openJobs = new Set()
const fullViews = new Map()
let jobsSince = 0
let jobsPage = 0
let jobsDirty = true

function mergeJobs (data) {
  const list = Array.isArray(data.jobs) ? data.jobs : []
  for (const id of Array.isArray(data.forgotten) ? data.forgotten : []) { jobs.delete(id); fullViews.delete(id); openJobs.delete(id) }
  for (const j of list) {
    jobs.set(str(j.jobId), j)
    if (openJobs.has(str(j.jobId))) void loadFullView(str(j.jobId))
  }
  if (typeof data.now === 'number') jobsSince = data.now
  if (list.length > 0 || (data.forgotten ?? []).length > 0) jobsDirty = true
}
async function loadFullView (jobId) {
  try {
    fullViews.set(jobId, await getJson('/api/v1/jobs/' + encodeURIComponent(jobId)))
    jobsDirty = true
    renderJobList()
  } catch (err) {
    fullViews.set(jobId, { error: String(err && err.message) })
  }
}
function sortedJobs () {
  return [...jobs.values()].sort((a, b) => ((a.state === 'running' ? 0 : 1) - (b.state === 'running' ? 0 : 1)) || ((b.submittedAt ?? 0) - (a.submittedAt ?? 0)))
}
function renderJobs (data) {
  mergeJobs(data)
  renderJobList()
}
function renderJobList () {
  const all = sortedJobs()
  const running = all.filter(j => j.state === 'running').length
  // running jobs show their elapsed time: redraw them every poll
  if (!jobsDirty && running === 0) return
  jobsDirty = false
  setCount('jobs-count', all.length + (all.length === 1 ? ' job' : ' jobs') + (running > 0 ? ', ' + running + ' running' : ''))
  if (all.length === 0) return fill('jobs-body', empty('No jobs submitted from this node yet.'))
  const pages = Math.max(1, Math.ceil(all.length / JOBS_PAGE_SIZE))
  jobsPage = Math.min(jobsPage, pages - 1)
  const shown = all.slice(jobsPage * JOBS_PAGE_SIZE, (jobsPage + 1) * JOBS_PAGE_SIZE)
  const pageButton = (label, to, testid) => {
    const b = h('button', { type: 'button', 'data-testid': testid, disabled: to < 0 || to >= pages }, label)
    b.addEventListener('click', () => { jobsPage = to; jobsDirty = true; renderJobList() })
    return b
  }
  fill('jobs-body', shown.map(renderJob), pages > 1
    ? h('div', { class: 'pager', 'data-testid': 'jobs-pager' },
      pageButton('\\u2190 newer', jobsPage - 1, 'jobs-newer'),
      h('span', { 'data-testid': 'jobs-page' }, 'page ' + (jobsPage + 1) + ' of ' + pages),
      pageButton('older \\u2192', jobsPage + 1, 'jobs-older'))
    : null)
}
function renderJob (j) {
  const id = str(j.jobId)
  const mb = j.microBatches ?? {}
  const total = typeof mb.total === 'number' ? mb.total : 0
  const done = typeof mb.done === 'number' ? mb.done : 0
  const pct = total > 0 ? Math.max(0, Math.min(100, (done / total) * 100)) : (j.state === 'done' ? 100 : 0)
  const fillEl = h('div')
  fillEl.style.width = pct.toFixed(1) + '%'
  const end = typeof j.finishedAt === 'number' ? j.finishedAt : Date.now()
  const w = j.workers != null && typeof j.workers === 'object' && !Array.isArray(j.workers) ? j.workers : {}
  const card = h('details', { class: 'job', 'data-testid': 'job', 'data-job-id': id, 'data-state': str(j.state), open: openJobs.has(id) },
    h('summary', null,
      h('div', { class: 'job-head' },
        h('span', { class: 'mono', 'data-testid': 'job-id' }, id),
        h('span', { 'data-testid': 'job-state' }, badge(j.state, j.state)),
        h('span', null, str(j.mode)),
        h('span', { class: 'muted' }, 'model ', idSpan(j.model)),
        h('span', { class: 'muted' }, 'batch ' + num(j.batch)),
        h('span', { class: 'muted' }, 'submitted ' + time(j.submittedAt) + ' \\u00b7 ' + duration(end - (j.submittedAt ?? end))),
        h('span', { class: 'muted', 'data-testid': 'job-workers' }, num(w.peers) + (w.peers === 1 ? ' worker' : ' workers') +
          (w.lost > 0 ? ' \\u00b7 ' + w.lost + ' lost' : '') + (j.reawards > 0 ? ' \\u00b7 ' + j.reawards + ' re-awarded' : ''))),
      h('div', { class: 'progress' },
        h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': done }, fillEl),
        h('span', { class: 'num', 'data-testid': 'job-progress' }, done + ' / ' + total + ' micro-batches')),
      j.error != null ? h('div', { class: 'err', 'data-testid': 'job-error' }, str(j.error)) : null),
    openJobs.has(id) ? renderJobDetails(j, fullViews.get(id)) : null)
  card.addEventListener('toggle', () => {
    if (card.open === openJobs.has(id)) return
    if (card.open) { openJobs.add(id); void loadFullView(id) } else openJobs.delete(id)
    jobsDirty = true
  })
  return card
}
function renderJobDetails (j, full) {
  if (full == null) return h('div', { class: 'job-body muted' }, 'Loading\\u2026')
  if (full.error != null && full.jobId == null) return h('div', { class: 'job-body err' }, str(full.error))
  const workers = Array.isArray(full.workers) ? full.workers : []
  const events = Array.isArray(full.events) ? full.events : []
  const s = full.settlement
  return h('div', { class: 'job-body', 'data-testid': 'job-details' },
    workers.length === 0
      ? h('div', { class: 'muted' }, j.state === 'running' ? 'Waiting for bids\\u2026' : 'No workers.')
      : table([j.mode === 'pipeline' ? 'Stage' : 'Shard', 'Worker', 'Lease', 'State'],
        workers.map(w => h('tr', { 'data-testid': 'job-worker', 'data-peer-id': str(w.peerId), 'data-state': str(w.state) },
          h('td', null, str(w.shard)),
          h('td', null, idSpan(w.peerId)),
          h('td', null, idSpan(w.leaseId)),
          h('td', null, badge(w.state, w.state), w.reason != null ? h('div', { class: 'muted', 'data-testid': 'job-worker-reason' }, str(w.reason)) : null)))),
    events.length > 0 ? h('div', { class: 'muted' }, 'last event: ' + eventText(events[events.length - 1])) : null,
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

`
