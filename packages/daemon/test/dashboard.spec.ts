import { strict as assert } from 'node:assert'
import Fastify from 'fastify'
import { chromium } from 'playwright-core'
import { registerDashboard } from '../src/dashboard.js'
import type { FastifyInstance } from 'fastify'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core).
 */

const CHROMIUM = '/usr/bin/chromium'
/** Bound on every single wait in this file. */
const WAIT_MS = 30_000

async function launchBrowser (): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'], timeout: WAIT_MS })
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

/** A stand-in for the daemon's API with strings that would run if parsed as HTML. */
function stubApi (token: string): FastifyInstance {
  const app = Fastify()
  registerDashboard(app)
  const now = Date.now()
  const self = '12D3KooWStubSelf0000000000000000000000000000000000'
  const worker = '12D3KooWStubWorker00000000000000000000000000000000'
  const data: Record<string, unknown> = {
    '/api/v1/info': { peerId: self, role: 'station', region: HOSTILE, multiaddrs: [`/ip4/127.0.0.1/tcp/1/${HOSTILE2}`], version: '0.1.0', startedAt: now - 3_723_000, uptimeMs: 3_723_000, worker: true, dashboardUrl: 'http://127.0.0.1/#token=secret' },
    '/api/v1/peers': { peers: [{ peerId: worker, role: 'vehicle', region: HOSTILE, rttMs: 1.5, multiaddrs: [HOSTILE2] }] },
    '/api/v1/jobs': {
      jobs: [{
        jobId: `job-${HOSTILE}`,
        mode: 'data',
        model: HOSTILE2,
        state: 'failed',
        submittedAt: now - 5000,
        finishedAt: now - 1000,
        error: HOSTILE,
        batch: 8,
        microBatches: { total: 4, done: 3 },
        workers: [{ peerId: worker, leaseId: HOSTILE2, shard: 0, state: 'lost' }],
        events: [{ type: 'failed', jobId: 'x', error: HOSTILE2, at: now - 1000 }]
      }],
      leases: []
    },
    '/api/v1/receipts': { receipts: [{ id: 'r1', jobId: HOSTILE, shardIndex: 0, replica: 0, requester: self, worker, modelCid: 'bafy', inputDigest: 'aa', outputDigest: 'bb', computeMs: 12, units: 4, pricePerUnit: 0.5, startedAt: now - 3000, finishedAt: now - 2000, leaseId: 'l1', countersigned: true, workerOwner: HOSTILE, requesterOwner: '' }] },
    '/api/v1/balances': { peers: { [worker]: { account: worker, credits: 2, earned: 2, spent: 0, receiptsAsWorker: 1, receiptsAsRequester: 0 } }, owners: { [HOSTILE]: { account: HOSTILE, credits: 2, earned: 2, spent: 0, receiptsAsWorker: 1, receiptsAsRequester: 0 } }, receipts: 1 }
  }
  for (const [path, body] of Object.entries(data)) {
    app.get(path, async (req, reply) => {
      if (req.headers.authorization !== `Bearer ${token}`) return reply.code(401).send({ error: 'Unauthorized', message: 'bad token' })
      return body
    })
  }
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
      const job = page.locator('[data-testid="job"]')
      await job.waitFor({ timeout: WAIT_MS })
      assert.equal(await job.getAttribute('data-job-id'), `job-${HOSTILE}`)
      assert.equal(await page.getByTestId('job-error').textContent(), HOSTILE)
      assert.equal(await page.getByTestId('node-region').textContent(), HOSTILE)
      assert.equal(await page.locator('[data-testid="owner"] td').first().textContent(), HOSTILE)
      assert.equal(await page.getByTestId('job-progress').textContent(), '3 / 4 micro-batches')
      assert.equal(await page.locator('[data-testid="peer-group"]').getAttribute('data-region'), HOSTILE)
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
