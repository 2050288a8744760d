import assert from 'node:assert/strict'
import { killChildProcesses, runningChildren } from '../src/children.js'
import { forkNode } from '../src/fork.js'
import { waitUntil } from '../src/wait.js'
import type { ChildProcess } from 'node:child_process'

const ECHO = new URL('./fixtures/echo-node.js', import.meta.url)
const gone = (c: ChildProcess): boolean => c.exitCode != null || c.signalCode != null

describe('forked nodes', function () {
  this.timeout(30_000)
  afterEach(killChildProcesses)

  it('sends the start spec, resolves on ready, relays messages, and killChildProcesses kills every child', async () => {
    const a = await forkNode(ECHO, { start: { n: 1 }, args: ['x'] })
    assert.deepEqual(a.ready, { type: 'ready', spec: { n: 1 }, args: ['x'] })
    a.send({ type: 'echo', value: 42 })
    await waitUntil(() => a.messages.some(m => m.type === 'echoed' && m.value === 42), { message: 'the echo' })
    const b = await forkNode(ECHO, { start: {} })
    assert.equal(runningChildren().length, 2)
    await killChildProcesses()
    assert.ok(gone(a.child) && gone(b.child), 'both children exited')
    assert.equal(a.child.signalCode, 'SIGKILL')
    assert.deepEqual(runningChildren(), [])
  })

  it('a child that exits before it is ready rejects with ForkedNodeError and its exit code', async () => {
    await assert.rejects(forkNode(ECHO, { start: {}, args: ['--exit'] }), { name: 'ForkedNodeError', code: 'ERR_FORKED_NODE', message: /echo-node\.js exited \(3\) before it was ready/ })
  })

  it('a child that never reports ready is rejected after readyTimeoutMs and killed', async () => {
    await assert.rejects(forkNode(ECHO, { start: {}, args: ['--silent'], readyTimeoutMs: 300 }), { name: 'ForkedNodeError', message: /did not report ready within 300 ms/ })
    assert.deepEqual(runningChildren(), [], 'the silent child was killed')
  })

  it('an error in the fixture\'s message handler ends it with exit code 1', async () => {
    const c = await forkNode(ECHO, { start: {} })
    c.send({ type: 'fail' })
    await waitUntil(() => gone(c.child), { message: 'the failing child to exit' })
    assert.equal(c.child.exitCode, 1)
  })
})
