import assert from 'node:assert/strict'
import { delay, waitUntil } from '../src/wait.js'

describe('waitUntil', () => {
  it('resolves once the predicate holds, sync or async', async () => {
    let n = 0
    await waitUntil(() => ++n >= 3, { intervalMs: 1 })
    assert.equal(n, 3)
    let m = 0
    await waitUntil(async () => ++m >= 2, { intervalMs: 1 })
    assert.equal(m, 2)
  })

  it('rejects with WaitTimeoutError naming what it waited for and how long', async () => {
    await assert.rejects(waitUntil(() => false, { timeoutMs: 30, intervalMs: 5, message: 'the moon to turn blue' }), (err: any) => {
      assert.equal(err.name, 'WaitTimeoutError')
      assert.equal(err.code, 'ERR_WAIT_TIMEOUT')
      assert.equal(err.timeoutMs, 30)
      assert.match(err.message, /timed out after 30 ms waiting for the moon to turn blue/)
      return true
    })
  })

  it('an exception in the predicate rejects at once, unchanged', async () => {
    const boom = new Error('fixture died')
    await assert.rejects(waitUntil(() => { throw boom }, { timeoutMs: 60_000 }), (err) => err === boom)
  })
})

describe('delay', () => {
  it('rejects with the signal\'s reason when aborted, before or during the wait', async () => {
    const before = new AbortController()
    before.abort(new Error('stop now'))
    await assert.rejects(delay(60_000, before.signal), /stop now/)
    const during = new AbortController()
    const waiting = delay(60_000, during.signal)
    during.abort(new Error('stop later'))
    await assert.rejects(waiting, /stop later/)
  })
})
