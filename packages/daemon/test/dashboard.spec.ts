import { strict as assert } from 'node:assert'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeTensors } from '@fleetmesh/protocol'
import { generateMlp } from '@fleetmesh/runtime'
import { LOOPBACK_GOSSIP_WHITELIST, loopbackListen, removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { createDaemonIdentity, createFleetFiles } from '@fleetmesh/test-utils/fleet'
import Fastify from 'fastify'
import { loadConfig } from '../src/config.js'
import { startDaemon } from '../src/daemon.js'
import { registerDashboard } from '../src/dashboard/index.js'
import { launchChromium } from './utils/browser.js'
import type { Daemon } from '../src/daemon.js'
import type { NodeRole } from '@fleetmesh/peer'
import type { FleetFiles } from '@fleetmesh/test-utils/fleet'
import type { FastifyInstance } from 'fastify'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/**
 * The dashboard in a real headless Chromium (the system's /usr/bin/chromium
 * if present, else the binary the @sparticuz/chromium package ships),
 * driven by playwright-core.
 */

/** Bound on every single wait in this file. */
const WAIT_MS = 30_000

async function launchBrowser (): Promise<Browser> {
  return launchChromium(WAIT_MS)
}

interface OpenedPage {
  context: BrowserContext
  page: Page
  /** uncaught page errors and Content-Security-Policy refusals */
  problems: string[]
}

/** A fresh browser context (own sessionStorage) with one page at `url`. */
async function openPage (browser: Browser, url: string): Promise<OpenedPage> {
  const context = await browser.newContext()
  context.setDefaultTimeout(WAIT_MS)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', err => { problems.push(`page error: ${err.message}`) })
  page.on('console', msg => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`)
  })
  await page.goto(url, { timeout: WAIT_MS })
  return { context, page, problems }
}

const HOSTILE = '<img src=x onerror="window.__xss=1">'
const HOSTILE2 = '</td><script>window.__xss=2</script>'

const STUB_SELF = '12D3KooWStubSelf0000000000000000000000000000000000'
const STUB_WORKER = '12D3KooWStubWorker00000000000000000000000000000000'

/** A stand-in for the daemon's API with strings that would run if parsed as HTML. */
function stubApi (token: string): FastifyInstance {
  const app = Fastify()
  registerDashboard(app)
  const now = Date.now()
  const self = STUB_SELF
  const worker = STUB_WORKER
  // one failed job with hostile strings, then eleven older done ones: two pages
  const jobs: any[] = [{
    jobId: `job-${HOSTILE}`,
    mode: 'data',
    model: HOSTILE2,
    state: 'failed',
    submittedAt: now - 5000,
    finishedAt: now - 1000,
    updatedAt: now - 1000,
    reawards: 1,
    error: HOSTILE,
    batch: 8,
    microBatches: { total: 4, done: 3 },
    workers: [{ peerId: worker, leaseId: HOSTILE2, shard: 0, state: 'lost', reason: `disconnected ${HOSTILE}` }],
    events: [{ type: 'failed', jobId: 'x', error: HOSTILE2, at: now - 1000 }]
  }]
  for (let i = 1; i <= 11; i++) {
    jobs.push({ jobId: `job-${i}`, mode: 'data', model: 'bafy', state: 'done', submittedAt: now - 10_000 * i, finishedAt: now - 10_000 * i + 2000, updatedAt: now - 10_000 * i + 2000, reawards: 0, batch: 8, microBatches: { total: 4, done: 4 }, workers: [{ peerId: worker, leaseId: `l${i}`, shard: 0, state: 'done' }], events: [] })
  }
  const summary = ({ events, workers, ...rest }: any): unknown => ({ ...rest, workers: { peers: 1, leased: 0, done: workers.filter((w: any) => w.state === 'done').length, lost: workers.filter((w: any) => w.state === 'lost').length }, lastEvent: events[events.length - 1] })
  const data: Record<string, unknown> = {
    '/api/v1/info': { peerId: self, role: 'station', region: HOSTILE, multiaddrs: [`/ip4/127.0.0.1/tcp/1/${HOSTILE2}`], version: '0.1.0', startedAt: now - 3_723_000, uptimeMs: 3_723_000, worker: true, dashboardUrl: 'http://127.0.0.1/#token=secret' },
    '/api/v1/peers': { peers: [{ peerId: worker, role: 'vehicle', region: HOSTILE, rttMs: 1.5, multiaddrs: [HOSTILE2] }] },
    '/api/v1/jobs': { now, total: jobs.length, jobs: jobs.map(summary), forgotten: [], leases: [] },
    '/api/v1/leases': {
      held: [{ leaseId: 'lease-held', jobId: 'job-remote', requester: self, shardIndex: 1, shardCount: 2, mode: 'data', state: 'active', startedAt: now - 4000, deadline: now + 60_000, units: 8, pricePerUnit: 0.5, credits: 4, earned: false }],
      ended: [{ leaseId: 'lease-lost', jobId: 'job-remote-2', requester: self, shardIndex: 0, shardCount: 2, mode: 'data', state: 'released', reason: `released: drained: ${HOSTILE}`, startedAt: now - 9000, endedAt: now - 8000, units: 8, pricePerUnit: 0.5, credits: 4, earned: false }]
    },
    '/api/v1/series': { now, samples: Array.from({ length: 30 }, (_, i) => ({ at: now - (30 - i) * 10_000, itemsPerSec: 10 + (i % 5), workerUnitsPerSec: i % 3, latencyP50: 0.02 + i / 1000, latencyP99: 0.05 + i / 500, creditsEarned: i * 0.5, creditsSpent: i * 0.25, peers: { station: 1, vehicle: 1 + (i % 2) } })) },
    '/api/v1/earnings/owners': { days: [{ owner: HOSTILE, day: '2025-01-02', credits: 2, shards: 1 }, { owner: 'bob', day: '2025-01-01', credits: 1.5, shards: 3 }] },
    '/api/v1/receipts': { receipts: [{ id: 'r1', jobId: HOSTILE, shardIndex: 0, replica: 0, requester: self, worker, modelCid: 'bafy', inputDigest: 'aa', outputDigest: 'bb', computeMs: 12, units: 4, pricePerUnit: 0.5, startedAt: now - 3000, finishedAt: now - 2000, leaseId: 'l1', countersigned: true, workerOwner: HOSTILE, requesterOwner: '' }] },
    '/api/v1/sessions': {
      sessions: [{ sessionId: `session-${HOSTILE}`, model: HOSTILE2, stages: 2, state: 'open', openedAt: now - 8000, updatedAt: now - 100, steps: 42, tokens: 40, recoveries: 0, stepMs: { p50: 3.5, last: 4 }, workers: [{ stage: 0, peerId: worker, leaseId: 'ls0' }, { stage: 1, peerId: self, leaseId: HOSTILE2 }] }]
    },
    '/api/v1/balances': { peers: { [worker]: { account: worker, credits: 2, earned: 2, spent: 0, receiptsAsWorker: 1, receiptsAsRequester: 0 } }, owners: { [HOSTILE]: { account: HOSTILE, credits: 2, earned: 2, spent: 0, receiptsAsWorker: 1, receiptsAsRequester: 0 } }, receipts: 1 }
  }
  for (const [path, body] of Object.entries(data)) {
    app.get(path, async (req, reply) => {
      if (req.headers.authorization !== `Bearer ${token}`) return reply.code(401).send({ error: 'Unauthorized', message: 'bad token' })
      return body
    })
  }
  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req, reply) => {
    if (req.headers.authorization !== `Bearer ${token}`) return reply.code(401).send({ error: 'Unauthorized', message: 'bad token' })
    return jobs.find(j => j.jobId === req.params.id) ?? reply.code(404).send({ error: { code: 'ERR_JOB_NOT_FOUND', message: 'no such job' } })
  })
  return app
}

describe('dashboard page (stub API)', function () {
  this.timeout(90_000)
  const token = 'stub-token-0123456789'
  let browser: Browser | undefined
  let app: FastifyInstance | undefined
  let url = ''

  before(async () => {
    browser = await launchBrowser()
  })

  beforeEach(async () => {
    app = stubApi(token)
    url = await app.listen({ host: '127.0.0.1', port: 0 })
  })

  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  after(async () => {
    await browser?.close()
  })

  it('serves one self-contained page with a strict Content-Security-Policy', async () => {
    const res = await fetch(url + '/')
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    const csp = res.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/)
    assert.match(csp, /connect-src 'self'/)
    const html = await res.text()
    assert.doesNotMatch(html, /(src|href)="?https?:/i, 'the page loads nothing from other origins')
  })

  it('renders every API string as text, never as HTML, and keeps the token out of the address bar', async () => {
    assert.ok(browser != null)
    const { context, page, problems } = await openPage(browser, `${url}/#token=${token}`)
    try {
      const job = page.locator('[data-testid="job"]').first()
      await job.waitFor({ timeout: WAIT_MS })
      assert.equal(await job.getAttribute('data-job-id'), `job-${HOSTILE}`)
      assert.equal(await job.getByTestId('job-error').textContent(), HOSTILE)
      assert.equal(await page.getByTestId('node-region').textContent(), HOSTILE)
      assert.equal(await page.locator('[data-testid="owner"] td').first().textContent(), HOSTILE)
      await page.locator('[data-testid="lease-reason"]').waitFor({ timeout: WAIT_MS })
      assert.equal(await page.getByTestId('lease-reason').textContent(), `released: drained: ${HOSTILE}`)
      await page.locator('[data-testid="owner-day"]').first().waitFor({ timeout: WAIT_MS })
      assert.equal(await page.locator('[data-testid="owner-day"]').first().getAttribute('data-owner'), HOSTILE)
      await job.locator('summary').click()
      await job.getByTestId('job-worker-reason').waitFor({ timeout: WAIT_MS })
      assert.equal(await job.getByTestId('job-worker-reason').textContent(), `disconnected ${HOSTILE}`)
      assert.equal(await job.getByTestId('job-progress').textContent(), '3 / 4 micro-batches')
      assert.equal(await page.locator('[data-testid="peer-group"]').getAttribute('data-region'), HOSTILE)
      const session = page.locator('[data-testid="session"]').first()
      await session.waitFor({ timeout: WAIT_MS })
      assert.equal(await session.getAttribute('data-session-id'), `session-${HOSTILE}`)
      assert.equal(await session.getByTestId('session-steps').textContent(), '42')
      assert.deepEqual(await session.getByTestId('session-worker').evaluateAll(els => els.map(e => e.getAttribute('data-peer-id'))), [STUB_WORKER, STUB_SELF], 'each stage\'s worker')
      assert.equal(await page.getByTestId('node-uptime').textContent(), '1h 02m 03s')
      assert.equal(await page.evaluate('window.__xss'), undefined, 'no API string ran as script')
      assert.equal(await page.locator('main img, main script').count(), 0, 'no element was made from API strings')
      assert.equal(await page.getByTestId('banner').getAttribute('data-state'), 'ok')
      assert.ok(!page.url().includes(token), `token left in the address bar: ${page.url()}`)
      assert.doesNotMatch(await page.locator('body').innerText(), /secret/, 'the dashboard URL (with its token) is not shown')
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  it('keeps the token for reloads and says when the daemon is unreachable', async () => {
    assert.ok(browser != null && app != null)
    const { context, page, problems } = await openPage(browser, `${url}/#token=${token}`)
    try {
      const banner = page.getByTestId('banner')
      await page.locator('[data-testid="banner"][data-state="ok"]').waitFor({ state: 'attached', timeout: WAIT_MS })
      await page.reload({ timeout: WAIT_MS })
      await page.locator('[data-testid="banner"][data-state="ok"]').waitFor({ state: 'attached', timeout: WAIT_MS })
      await page.locator('[data-testid="peer"]').waitFor({ timeout: WAIT_MS })

      await app.close()
      await page.locator('[data-testid="banner"][data-state="unreachable"]').waitFor({ timeout: WAIT_MS })
      assert.match(await banner.innerText(), /Daemon unreachable/)
      assert.equal(await page.locator('[data-testid="peer"]').count(), 1, 'the last figures stay on the page')
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  it('lays out without horizontal overflow from 360 px up, draws the charts, collapses job cards and pages the history', async () => {
    assert.ok(browser != null)
    const shots = await mkdtemp(join(tmpdir(), 'fleetmesh-dashboard-shots-'))
    try {
      for (const width of [360, 420, 1280]) {
        const context = await browser.newContext({ viewport: { width, height: 800 } })
        context.setDefaultTimeout(WAIT_MS)
        try {
          const page = await context.newPage()
          const problems: string[] = []
          page.on('pageerror', err => { problems.push(`page error: ${err.message}`) })
          page.on('console', msg => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
          await page.goto(`${url}/#token=${token}`, { timeout: WAIT_MS })
          await page.locator('[data-testid="job"]').first().waitFor({ timeout: WAIT_MS })
          await page.locator('[data-testid="chart"] canvas').nth(3).waitFor({ timeout: WAIT_MS })
          await page.locator('[data-testid="lease"]').first().waitFor({ timeout: WAIT_MS })
          await page.locator('[data-testid="owner-day"]').first().waitFor({ timeout: WAIT_MS })

          // each chart's canvas: how many pixels are not transparent (in page: the test has no DOM types)
          const drawn = await page.evaluate(`[...document.querySelectorAll('[data-testid="chart"]')].map(chart => {
            const canvas = chart.querySelector('canvas')
            if (canvas == null || canvas.width === 0 || canvas.height === 0) return { chart: chart.getAttribute('data-chart'), painted: 0 }
            const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
            let painted = 0
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++
            return { chart: chart.getAttribute('data-chart'), painted }
          })`) as Array<{ chart: string, painted: number }>
          assert.deepEqual(drawn.map(d => d.chart), ['items', 'latency', 'credits', 'peers'], `four charts at ${width} px`)
          for (const d of drawn) assert.ok(d.painted > 500, `chart ${d.chart} has lines drawn at ${width} px: ${d.painted} painted pixels`)

          const cards = page.locator('[data-testid="job"]')
          assert.equal(await cards.count(), 10, `one page of ten job cards at ${width} px`)
          assert.equal(await page.locator('[data-testid="job"][open]').count(), 0, `job cards are collapsed by default at ${width} px`)
          assert.equal(await page.locator('[data-testid="job-worker"]').count(), 0, 'a collapsed card shows no worker rows')
          assert.equal(await page.getByTestId('jobs-page').textContent(), 'page 1 of 2')

          const overflow = await page.evaluate('({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })') as { scrollWidth: number, innerWidth: number }
          assert.ok(overflow.scrollWidth <= overflow.innerWidth, `no horizontal overflow at ${width} px: ${JSON.stringify(overflow)}`)
          const file = join(shots, `dashboard-${width}.png`)
          await page.screenshot({ path: file, fullPage: true })
          const png = await readFile(file)
          assert.equal(png.readUInt32BE(16), width, `the full-page screenshot is ${width} px wide (nothing wider was laid out)`)

          await page.getByTestId('jobs-older').click()
          await page.locator('[data-testid="jobs-page"]:text-is("page 2 of 2")').waitFor({ timeout: WAIT_MS })
          assert.equal(await cards.count(), 2, 'the second page has the two oldest jobs')
          assert.equal(await cards.last().getAttribute('data-job-id'), 'job-11')
          await cards.first().locator('summary').click()
          await page.locator('[data-testid="job"][open] [data-testid="job-worker"]').waitFor({ timeout: WAIT_MS })
          const after = await page.evaluate('document.scrollingElement.scrollWidth <= window.innerWidth')
          assert.ok(after, `an open card does not overflow at ${width} px`)
          assert.deepEqual(problems, [])
        } finally {
          await context.close()
        }
      }
    } finally {
      await rm(shots, { recursive: true, force: true })
    }
  })

  it('asks for a token when the URL has none', async () => {
    assert.ok(browser != null)
    const { context, page } = await openPage(browser, `${url}/`)
    try {
      await page.locator('[data-testid="banner"][data-state="no-token"]').waitFor({ timeout: WAIT_MS })
      await page.locator('#token-input').fill(token)
      await page.locator('#token-form button').click()
      await page.locator('[data-testid="banner"][data-state="ok"]').waitFor({ state: 'attached', timeout: WAIT_MS })
      await page.locator('[data-testid="peer"]').waitFor({ timeout: WAIT_MS })
    } finally {
      await context.close()
    }
  })
})

/** Rejects with `what` if `p` has not settled within `ms`. */
async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms: ${what}`)) }, ms) })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

describe('dashboard on a real mesh: a station requester and two worker daemons', function () {
  this.timeout(180_000)
  const REGION = 'u33d'
  let browser: Browser | undefined
  const daemons: Daemon[] = []
  let station: Daemon
  let workers: Daemon[] = []
  const contexts: BrowserContext[] = []

  async function startNode (files: FleetFiles, name: string, role: NodeRole, bootstrap: string[], worker: boolean): Promise<Daemon> {
    const { dataDir } = await createDaemonIdentity(files, { name, role, region: REGION, owner: role === 'vehicle' ? `owner-${name}` : '' })
    const config = loadConfig({
      env: {},
      flags: {
        dataDir,
        role,
        region: REGION,
        listen: [loopbackListen()],
        bootstrap,
        swarmKeyFile: files.swarmKeyFile,
        authorities: [files.authorityFile],
        gossipIpWhitelist: [...LOOPBACK_GOSSIP_WHITELIST],
        'worker.enabled': worker,
        'vehicle.scripted': role === 'vehicle',
        'market.bidWindowMs': 500
      }
    })
    const daemon = await within(startDaemon(config, {
      log: (level, line) => { if (level === 'error' || level === 'warn') process.stderr.write(`[${name}] ${line}\n`) },
      seriesSampleMs: 500
    }), 30_000, `${name} starting`)
    daemons.push(daemon)
    return daemon
  }

  before(async () => {
    const files = await createFleetFiles(await tempDir('fleetmesh-dashboard-'))
    station = await startNode(files, 'station-1', 'station', [], false)
    const bootstrap = station.node.getMultiaddrs().map(String)
    workers = await Promise.all([
      startNode(files, 'station-2', 'station', bootstrap, true),
      startNode(files, 'vehicle-1', 'vehicle', bootstrap, true)
    ])
    await within(Promise.all(daemons.map(async d => d.node.announced())), 30_000, 'every daemon announced in the DHT')
    browser = await launchBrowser()
  })

  after(async () => {
    await Promise.allSettled(contexts.map(async c => c.close()))
    await browser?.close().catch(() => {})
    await Promise.allSettled(daemons.map(async d => d.stop()))
    await removeTempDirs()
  })

  async function api<T> (d: Daemon, path: string, init: RequestInit = {}): Promise<{ status: number, body: T }> {
    const res = await fetch(d.url + path, { ...init, headers: { authorization: `Bearer ${d.token}`, ...init.headers }, signal: AbortSignal.timeout(WAIT_MS) })
    return { status: res.status, body: await res.json() as T }
  }

  it('shows the other daemons, then a job submitted through the API live, through to done, with its receipts and balances', async () => {
    assert.ok(browser != null)
    const { context, page, problems } = await openPage(browser, `${station.url}/#token=${station.token}`)
    contexts.push(context)

    // node info and both workers in the peers section, grouped by role
    await page.locator(`[data-testid="node-peer-id"]:text-is("${station.node.peerId.toString()}")`).waitFor({ timeout: WAIT_MS })
    assert.equal(await page.getByTestId('node-region').textContent(), REGION)
    for (const w of workers) {
      const row = page.locator(`[data-testid="peer"][data-peer-id="${w.node.peerId.toString()}"]`)
      await row.waitFor({ timeout: WAIT_MS })
      assert.equal(await row.getAttribute('data-role'), w.config.role, `role of ${w.config.dataDir}`)
      assert.match(await row.innerText(), new RegExp(w.node.peerId.toString()), `the PeerId of ${w.config.dataDir} is shown`)
    }
    assert.equal(await page.locator('[data-testid="peer-group"]').count(), 2, 'one group per (role, region)')
    assert.equal(await page.getByTestId('banner').getAttribute('data-state'), 'ok')

    // the same document all along: a marker set now must survive until the job is done
    await page.evaluate('window.__sameDocument = true')

    const model = generateMlp({ inputs: 16, hidden: [32, 32], outputs: 4, seed: 7 })
    const uploaded = await api<{ cid: string }>(station, '/api/v1/models', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: model })
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body))
    const batch = 32
    const inputs = encodeTensors([{ name: 'x', dtype: 'float32', dims: [batch, 16], data: Float32Array.from({ length: batch * 16 }, (_, i) => Math.sin(i * 0.37)) }])
    const submitted = await api<{ jobId: string }>(station, '/api/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: uploaded.body.cid, inputs: Buffer.from(inputs).toString('base64'), mode: 'data', shards: 2, maxPrice: 10 })
    })
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body))
    const { jobId } = submitted.body

    const job = page.locator(`[data-testid="job"][data-job-id="${jobId}"]`)
    await job.waitFor({ timeout: WAIT_MS })
    try {
      await page.locator(`[data-testid="job"][data-job-id="${jobId}"][data-state="done"]`).waitFor({ timeout: WAIT_MS })
    } catch (err) {
      const view = await api<unknown>(station, `/api/v1/jobs/${jobId}`)
      throw new Error(`job ${jobId} did not show as done: ${(err as Error).message}; API view: ${JSON.stringify(view.body).slice(0, 2000)}`)
    }
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'the page was not reloaded')
    assert.equal(await job.getByTestId('job-id').textContent(), jobId)
    assert.equal(await job.getByTestId('job-state').textContent(), 'done')
    const progress = await job.getByTestId('job-progress').textContent()
    const m = /^(\d+) \/ (\d+) micro-batches$/.exec(progress ?? '')
    assert.ok(m != null && Number(m[1]) === Number(m[2]) && Number(m[2]) > 0, `all micro-batches done: ${progress}`)
    assert.equal(await job.getAttribute('open'), null, 'the job card is collapsed until opened')
    await job.locator('summary').click()
    await job.locator('[data-testid="job-worker"]').first().waitFor({ timeout: WAIT_MS })
    const workerIds = new Set(workers.map(w => w.node.peerId.toString()))
    const shown = await job.locator('[data-testid="job-worker"]').evaluateAll(rows => rows.map(r => r.getAttribute('data-peer-id')))
    assert.ok(shown.length > 0, 'the job lists its workers')
    for (const id of shown) assert.ok(workerIds.has(id ?? ''), `job worker ${id} is one of the worker daemons`)

    // the job's receipts reach the receipts section, and the workers the balances
    await page.locator(`[data-testid="receipt"][data-job-id="${jobId}"]`).first().waitFor({ timeout: WAIT_MS })
    await page.locator('[data-testid="balance"]').filter({ has: page.locator('td') }).first().waitFor({ timeout: WAIT_MS })
    const balanceIds = await page.locator('[data-testid="balance"]').evaluateAll(rows => rows.map(r => r.getAttribute('data-peer-id')))
    assert.ok(balanceIds.includes(station.node.peerId.toString()), `the requester pays: ${balanceIds.join(', ')}`)
    assert.ok(shown.every(id => balanceIds.includes(id)), `every worker of the job earns: ${balanceIds.join(', ')}`)

    // the time series saw the job: the throughput chart has a non-zero sample
    await page.locator('#charts-count:text-matches("^[1-9][0-9]* samples? over the last hour$")').waitFor({ timeout: WAIT_MS })
    assert.equal(await page.locator('[data-testid="chart"] canvas').count(), 4, 'four charts drawn')

    // a worker of the job lists the lease on its own dashboard, with its job and earnings
    const leaseHolder = workers.find(w => w.node.peerId.toString() === shown[0]) as Daemon
    const workerPage = await openPage(browser, `${leaseHolder.url}/#token=${leaseHolder.token}`)
    contexts.push(workerPage.context)
    const lease = workerPage.page.locator(`[data-testid="lease"][data-job-id="${jobId}"]`).first()
    await lease.waitFor({ timeout: WAIT_MS })
    assert.equal(await lease.getAttribute('data-state'), 'completed')
    assert.deepEqual(workerPage.problems, [])

    const screenshot = process.env.FLEETMESH_DASHBOARD_SCREENSHOT
    if (screenshot != null && screenshot !== '') await page.screenshot({ path: screenshot, fullPage: true })
    assert.deepEqual(problems, [])
  })

  it('shows the 401 message for a wrong token and no data', async () => {
    assert.ok(browser != null)
    const { context, page, problems } = await openPage(browser, `${station.url}/#token=not-the-token`)
    contexts.push(context)
    const banner = page.locator('[data-testid="banner"][data-state="unauthorized"]')
    await banner.waitFor({ timeout: WAIT_MS })
    assert.match(await banner.innerText(), /401 Unauthorized/)
    assert.match(await banner.innerText(), /wrong API token/)
    assert.equal(await page.locator('[data-testid="peer"]').count(), 0)
    assert.equal(await page.locator('[data-testid="job"]').count(), 0)
    assert.doesNotMatch(await page.locator('body').innerText(), new RegExp(station.node.peerId.toString()))
    assert.deepEqual(problems, [])
  })

  it("shows a vehicle's drive state and charge, and follows a change live", async () => {
    assert.ok(browser != null)
    const vehicle = workers.find(w => w.config.role === 'vehicle')
    assert.ok(vehicle != null)
    const { context, page, problems } = await openPage(browser, `${vehicle.url}/#token=${vehicle.token}`)
    contexts.push(context)
    const state = page.getByTestId('node-vehicle')
    await page.locator('[data-testid="node-vehicle"]:text-matches("^parked · SoC 80 %")').waitFor({ timeout: WAIT_MS })
    assert.match(await state.innerText(), /bidding/)
    assert.equal(await page.locator(`[data-testid="peer"][data-peer-id="${station.node.peerId.toString()}"]`).count(), 1, 'the vehicle sees the station')

    const changed = await api<{ state: string }>(vehicle, '/api/v1/vehicle', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'driving', soc: 0.42 }) })
    assert.equal(changed.status, 200, JSON.stringify(changed.body))
    await page.locator('[data-testid="node-vehicle"]:text-matches("^driving · SoC 42 %.*not bidding$")').waitFor({ timeout: WAIT_MS })
    assert.deepEqual(problems, [])
  })
})
