import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateTokens, LocalStatefulSession } from '@fleetmesh/peer'
import { decoderStatePairs, generateDecoder, generateMlp, maxAbsDiff } from '@fleetmesh/runtime'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import { parsePrompt, parseStatePairs } from '../src/session-commands.js'
import { killChildProcesses, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import type { Daemon } from '../src/daemon.js'
import type { GenerateInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

/** A small decoder (2 layers) so that a 2-stage session keeps one layer's KV cache per worker. */
const DECODER = { layers: 2, seed: 7 }

async function localTokens (model: Uint8Array, init: GenerateInit): Promise<number[]> {
  const session = await LocalStatefulSession.open(model, { state: decoderStatePairs(DECODER.layers) })
  try {
    const out: number[] = []
    for await (const t of generateTokens(session, init)) out.push(t)
    return out
  } finally {
    await session.close()
  }
}

const ids = (tokens: number[]): WireTensor => ({ name: 'input_ids', dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens.map(BigInt)) })

describe('stateful sessions through the daemon: API, fleetmesh generate, dashboard', function () {
  this.timeout(180_000)
  const daemons: Daemon[] = []
  let requester: Daemon
  let client: ApiClient
  let model: Uint8Array
  let cid: string
  let dir: string

  before(async () => {
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    // a bid window long enough on a loaded machine for both workers' bids, so each stage gets its own worker
    const config = await testDaemonConfig(fleet, 'requester', 'station')
    requester = await startDaemon({ ...config, market: { ...config.market, bidWindowMs: 1500 } }, { log: () => {} })
    daemons.push(requester)
    for (const name of ['worker-a', 'worker-b']) {
      const base = await testDaemonConfig(fleet, name, 'station')
      daemons.push(await startDaemon({ ...base, bootstrap: requester.node.getMultiaddrs().map(String), worker: { ...base.worker, enabled: true } }, { log: () => {} }))
    }
    await waitUntil(() => requester.node.peers().length === 2, { timeoutMs: 60_000, intervalMs: 100, message: 'the requester to admit both workers' })
    client = new ApiClient({ url: requester.url, token: requester.token })
    model = generateDecoder(DECODER)
    cid = (await client.uploadModel(model)).cid
    dir = await tempDir('fleetmesh-generate-')
  })
  afterEach(async () => {
    await killChildProcesses()
    for (const s of await client.sessions({ open: true })) await client.closeSession(s.sessionId).catch(() => {})
  })
  after(async () => {
    await Promise.all(daemons.splice(0).map(async d => d.stop()))
    await removeTempDirs()
  })

  it('opens a 2-stage session (state pairs read from the model\'s names), steps it, streams greedy tokens equal to local generation, lists it, and closes it with one receipt per stage', async () => {
    const opened = await client.openSession({ model: cid, stages: 2, maxPrice: 10 })
    assert.equal(opened.state, 'open')
    assert.equal(opened.workers.length, 2, 'one worker per stage')
    assert.notEqual(opened.workers[0]?.peerId, opened.workers[1]?.peerId, 'two distinct workers')

    const listed = await client.sessions({ open: true })
    assert.deepEqual(listed.map(s => s.sessionId), [opened.sessionId])
    assert.equal(listed[0]?.stages, 2)

    // one step by hand: the prompt's logits equal a local run's
    const local = await LocalStatefulSession.open(model, { state: decoderStatePairs(DECODER.layers) })
    let expectedLogits: WireTensor
    try {
      expectedLogits = (await local.step([ids([5, 6, 7])])).find(t => t.name === 'logits') as WireTensor
    } finally {
      await local.close()
    }
    const stepped = await client.step(opened.sessionId, [ids([5, 6, 7])])
    assert.deepEqual(stepped.map(t => t.name), ['logits'], 'only the non-state output comes back')
    const d = maxAbsDiff(stepped[0] as WireTensor, expectedLogits)
    assert.ok(d <= 1e-5, `the mesh step equals the local step (diff ${d})`)

    // then generation continues from that state: the same as locally after the same step
    const init: GenerateInit = { prompt: [9], maxTokens: 12 }
    const streamed: number[] = []
    for await (const t of client.generate(opened.sessionId, init)) {
      assert.equal(t.index, streamed.length, 'tokens arrive in order')
      streamed.push(t.token)
    }
    const reference = await LocalStatefulSession.open(model, { state: decoderStatePairs(DECODER.layers) })
    let expected: number[]
    try {
      await reference.step([ids([5, 6, 7])])
      expected = []
      for await (const t of generateTokens(reference, init)) expected.push(t)
    } finally {
      await reference.close()
    }
    assert.deepEqual(streamed, expected, 'the mesh generates what the local session generates')

    const view = await client.session(opened.sessionId)
    assert.equal(view.steps, 13, 'the step by hand and 12 generated tokens')
    assert.equal(view.tokens, 12)
    assert.ok(view.events.some(e => e.type === 'step'), 'the view keeps progress events')

    const closed = await client.closeSession(opened.sessionId)
    assert.equal(closed.state, 'closed')
    assert.deepEqual({ steps: closed.summary?.steps, receipts: closed.summary?.receipts }, { steps: 13, receipts: 2 })
    assert.deepEqual(await client.sessions({ open: true }), [], 'no session is open any more')
    assert.equal((await client.sessions()).find(s => s.sessionId === opened.sessionId)?.state, 'closed', 'the closed one is remembered')

    const page = await (await fetch(`${requester.url}/`)).text()
    assert.match(page, /data-testid="sessions"/, 'the dashboard has an open-sessions section')
    assert.match(page, /\/api\/v1\/sessions\?open=1/, 'which polls the open sessions')
  })

  it('fleetmesh generate --stages 2 --top-k prints the tokens a local seeded top-k generation gives, and closes its session', async () => {
    const file = join(dir, 'decoder.onnx')
    await writeFile(file, model)
    const r = await runCli(['generate', '--api', requester.url, '--token', requester.token, '--model', file, '--stages', '2', '--prompt', '1,2,3', '--max-tokens', '10', '--top-k', '5', '--seed', '3', '--max-price', '10'], { timeoutMs: 120_000 })
    assert.equal(r.code, 0, r.stderr)
    const printed = r.stdout.trim().split(/\s+/).map(Number)
    assert.deepEqual(printed, await localTokens(model, { prompt: [1, 2, 3], maxTokens: 10, sampler: { kind: 'top-k', k: 5, seed: 3 } }))
    assert.match(r.stderr, /^session \S+ open in \d+ ms on 2 stage\(s\)/m)
    assert.match(r.stderr, /10 tokens in \d+ ms .*closed: 10 steps, 0 recoveries, 2 receipts/)
    await waitUntil(async () => (await client.sessions({ open: true })).length === 0, { timeoutMs: 10_000, intervalMs: 100, message: 'the CLI to close its session' })
    const id = /^session (\S+) open/m.exec(r.stderr)?.[1]
    const listed = await runCli(['sessions', '--api', requester.url, '--token', requester.token, '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    const mine = (JSON.parse(listed.stdout) as Array<{ sessionId: string, state: string, steps: number, tokens: number }>).find(s => s.sessionId === id)
    assert.deepEqual({ state: mine?.state, steps: mine?.steps, tokens: mine?.tokens }, { state: 'closed', steps: 10, tokens: 10 }, 'fleetmesh sessions lists the closed session')
  })

  it('stops generating when the client of a token stream goes away', async () => {
    const s = await client.openSession({ model: cid, maxPrice: 10 })
    const abort = new AbortController()
    const res = await fetch(`${requester.url}/api/v1/sessions/${s.sessionId}/generate`, { method: 'POST', headers: { authorization: `Bearer ${requester.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: [1, 2], maxTokens: 5000 }), signal: abort.signal })
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    while (text.split('\n').length < 4) text += new TextDecoder().decode((await reader.read()).value)
    assert.deepEqual(JSON.parse(text.split('\n')[0] as string).index, 0, 'one JSON line per token')
    abort.abort()
    // the daemon notices the closed connection and stops after the step in flight
    let last = -1
    await waitUntil(async () => {
      const steps = (await client.session(s.sessionId)).steps
      const still = steps === last
      last = steps
      return still
    }, { timeoutMs: 30_000, intervalMs: 500, message: 'the generation to stop' })
    assert.ok(last < 5000, `stopped after ${last} of 5000 steps`)
    assert.equal((await client.session(s.sessionId)).state, 'open', 'the session stays open for more steps')
    assert.deepEqual((await client.step(s.sessionId, [ids([3])])).map(t => t.name), ['logits'])
  })

  it('answers bad requests with 4xx and a code: no state pairs in the names, unknown session, bad sampler, a state input sent', async () => {
    const { cid: mlp } = await client.uploadModel(generateMlp({ inputs: 4, hidden: [8], outputs: 2 }))
    await assert.rejects(client.openSession({ model: mlp, maxPrice: 10 }), (err: any) => err.status === 400 && err.apiCode === 'ERR_SESSION_REQUEST')
    await assert.rejects(client.session('nope'), (err: any) => err.status === 404 && err.apiCode === 'ERR_SESSION_NOT_FOUND')
    const s = await client.openSession({ model: cid, maxPrice: 10 })
    const res = await fetch(`${requester.url}/api/v1/sessions/${s.sessionId}/generate`, { method: 'POST', headers: { authorization: `Bearer ${requester.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: [1], maxTokens: 3, sampler: { kind: 'top-k', k: 0, seed: 1 } }) })
    assert.equal(res.status, 400, await res.text())
    const pastKey: WireTensor = { name: 'past_key_0', dtype: 'float32', dims: [1, 4, 0, 16], data: new Float32Array(0) }
    await assert.rejects(client.step(s.sessionId, [ids([1]), pastKey]), (err: any) => err.status === 400 && err.apiCode === 'ERR_SESSION_INPUT')
    const after = await client.step(s.sessionId, [ids([1])])
    assert.deepEqual(after.map(t => t.name), ['logits'], 'a refused step leaves the session open')
    await client.closeSession(s.sessionId)
    await assert.rejects(client.step(s.sessionId, [ids([1])]), (err: any) => err.status === 409 && err.apiCode === 'ERR_SESSION_CLOSED')
  })

  it('parses --prompt and --state, refusing malformed ones (pure)', () => {
    assert.deepEqual(parsePrompt('1, 2,3'), [1, 2, 3])
    assert.throws(() => parsePrompt('1,-2'), { name: 'UsageError' })
    assert.throws(() => parsePrompt(''), { name: 'UsageError' })
    assert.deepEqual(parseStatePairs('h_out:h_in,present_key_0:past_key_0'), [{ output: 'h_out', input: 'h_in' }, { output: 'present_key_0', input: 'past_key_0' }])
    assert.throws(() => parseStatePairs('h_out'), { name: 'UsageError' })
  })
})
