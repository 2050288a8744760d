import { strict as assert } from 'node:assert'
import { spawnSync } from 'node:child_process'
import { generateMlp } from '@fleetmesh/runtime'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import { removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import { lintFamilies, parseExposition } from './utils/prom-lint.js'
import type { Daemon } from '../src/daemon.js'
import type { MetricFamily } from './utils/prom-lint.js'

function family (families: MetricFamily[], name: string): MetricFamily {
  const f = families.find(x => x.name === name)
  assert.ok(f != null, `metric ${name} is exposed`)
  return f
}

/** Sum of a counter or gauge family's samples (those matching `labels`). */
function total (families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  return family(families, name).metrics
    .filter(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0)
}

/**
 * Observations in a histogram (its `_count` samples matching `labels`), read from the exposition
 * text: parse-prometheus-text-format keeps only the buckets of a labelled histogram.
 */
function observations (text: string, name: string, labels: Record<string, string> = {}): number {
  let n = 0
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_count(?:\\{([^}]*)\\})? (\\S+)$`).exec(line)
    if (m == null) continue
    const got = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(x => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) n += Number(m[2])
  }
  return n
}

describe('Prometheus metrics of daemons that ran a job', function () {
  this.timeout(120_000)
  const daemons: Daemon[] = []
  let requester: Daemon
  let worker: Daemon
  let scraped: { requester: string, worker: string }

  before(async () => {
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    requester = await startDaemon(await testDaemonConfig(fleet, 'requester', 'station'), { log: () => {} })
    daemons.push(requester)
    const base = await testDaemonConfig(fleet, 'worker', 'station')
    worker = await startDaemon({ ...base, bootstrap: requester.node.getMultiaddrs().map(String), worker: { ...base.worker, enabled: true } }, { log: () => {} })
    daemons.push(worker)
    await waitUntil(() => requester.node.peers().length === 1, { timeoutMs: 30_000, intervalMs: 100, message: 'the requester to admit the worker' })
    const client = new ApiClient({ url: requester.url, token: requester.token })
    const { cid } = await client.uploadModel(generateMlp({ inputs: 8, hidden: [16], outputs: 2, seed: 3 }))
    const batch = 16
    const { jobId } = await client.submit({ model: cid, inputs: [{ name: 'x', dtype: 'float32', dims: [batch, 8], data: Float32Array.from({ length: batch * 8 }, (_, i) => Math.cos(i)) }], mode: 'data', shards: 1, maxPrice: 10 })
    const view = await client.wait(jobId, { intervalMs: 100 })
    assert.equal(view.state, 'done', view.error)
    // the receipts (one per micro-batch) are countersigned after the result; the worker hears of them by gossip or
    // reconciliation (the ledger holds the fleet's grants from the start: wait for the worker's earnings to reach
    // what the requester spent, not for any entry or the first receipt)
    const workerId = worker.node.peerId.toString()
    const requesterId = requester.node.peerId.toString()
    await waitUntil(() => {
      const spent = requester.node.ledger.balances().peers[requesterId]?.spent ?? 0
      return spent > 0 && worker.node.ledger.balances().peers[workerId]?.earned === spent
    }, { timeoutMs: 60_000, intervalMs: 100, message: 'the worker to store every countersigned receipt that pays it' })
    await waitUntil(() => worker.node.libp2p.services.market.heldLeases().length === 0, { timeoutMs: 30_000, intervalMs: 100, message: 'the worker lease to end' })
    scraped = { requester: await requester.metrics.text(), worker: await worker.metrics.text() }
  })
  after(async () => {
    await Promise.all(daemons.splice(0).map(async d => d.stop()))
    await removeTempDirs()
  })

  it('every fleetmesh metric follows the Prometheus naming rules (parsed with parse-prometheus-text-format)', () => {
    for (const [side, text] of Object.entries(scraped)) {
      const families = parseExposition(text)
      const ours = families.filter(f => f.name.startsWith('fleetmesh_'))
      assert.ok(ours.length >= 20, `${side}: ${ours.length} fleetmesh metric families`)
      assert.deepEqual(lintFamilies(ours), [], `${side}: naming problems`)
      assert.ok(families.some(f => f.name.startsWith('libp2p_')), `${side}: libp2p's own metrics share the registry`)
    }
  })

  it('promtool check metrics agrees where it is installed', function () {
    const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
    if (probe.error != null) {
      // no promtool on this machine: the linter above is the verdict
      assert.equal((probe.error as any).code, 'ENOENT')
      return
    }
    for (const [side, text] of Object.entries(scraped)) {
      const ours = text.split('\n').filter(l => /^(# (HELP|TYPE) )?fleetmesh_/.test(l)).join('\n') + '\n'
      const r = spawnSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' })
      assert.equal(r.status, 0, `${side}: promtool: ${r.stdout}${r.stderr}`)
    }
  })

  it('both sides observe what happened: micro-batches, job and lease durations, credits, build info, peers by role and region', () => {
    const req = parseExposition(scraped.requester)
    const wrk = parseExposition(scraped.worker)
    assert.ok(observations(scraped.requester, 'fleetmesh_micro_batch_latency_seconds') > 0, 'requester: micro-batch latency')
    assert.ok(observations(scraped.requester, 'fleetmesh_micro_batch_compute_seconds') > 0, 'requester: worker-reported compute')
    assert.equal(observations(scraped.requester, 'fleetmesh_job_duration_seconds', { state: 'done' }), 1, 'requester: one job done')
    assert.ok(observations(scraped.requester, 'fleetmesh_lease_duration_seconds', { side: 'requester', state: 'completed' }) >= 1, 'requester: lease durations')
    assert.ok(observations(scraped.worker, 'fleetmesh_lease_duration_seconds', { side: 'worker', state: 'completed' }) >= 1, 'worker: lease durations')
    assert.ok(total(req, 'fleetmesh_ledger_credits_spent_total') > 0, 'requester: credits spent')
    assert.ok(total(wrk, 'fleetmesh_ledger_credits_earned_total') > 0, 'worker: credits earned')
    assert.equal(total(wrk, 'fleetmesh_ledger_credits_earned_total'), total(req, 'fleetmesh_ledger_credits_spent_total'), 'earned = spent')
    assert.ok(total(req, 'fleetmesh_ledger_receipts_stored_total', { source: 'local' }) >= 1, 'requester: receipt stored locally')
    assert.ok(total(req, 'fleetmesh_ledger_receipts') >= 1)
    // the inference service registers its own metrics through libp2p's components.metrics
    assert.ok(observations(scraped.worker, 'fleetmesh_inference_worker_compute_seconds') > 0, 'worker: its own compute time, observed at the worker')
    assert.ok(total(wrk, 'fleetmesh_inference_worker_micro_batches_total', { kind: 'data' }) > 0, 'worker: micro-batches run')
    assert.ok(total(req, 'fleetmesh_inference_jobs_total', { state: 'done' }) >= 1, 'requester: jobs done')
    assert.equal(total(req, 'fleetmesh_build_info'), 1)
    assert.ok(family(req, 'fleetmesh_build_info').metrics[0]?.labels?.version != null)
    assert.equal(total(req, 'fleetmesh_peers', { role: 'station', region: 'u33d' }), 1, 'requester: one station peer in u33d')
    assert.ok(total(req, 'fleetmesh_infer_bytes_total', { kind: 'input', direction: 'sent' }) > 0)
    // gossipsub registers its own metrics through components.metrics: validation results by topic kind (never by region)
    const valid = family(wrk, 'gossipsub_pre_validation_valid_total')
    const topics = new Set(valid.metrics.map(m => m.labels?.topic))
    assert.ok(topics.has('offers'), `the worker validated the job's offer on the offers topic: ${[...topics].join(', ')}`)
    for (const t of topics) assert.ok(['offers', 'bids', 'receipts', 'presence', 'other'].includes(t as string), `topic label ${t} is a topic kind`)
    assert.ok(total(req, 'gossipsub_pre_validation_valid_total', { topic: 'bids' }) >= 1, 'the requester validated the worker\'s bid')
  })
})
