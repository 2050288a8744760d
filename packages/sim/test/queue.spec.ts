import assert from 'node:assert/strict'
import { EventQueue } from '../src/queue.js'
import { Rng } from '../src/rng.js'

describe('EventQueue: the virtual clock', () => {
  it('runs events in time order, each with its arguments, and stops at untilMs', () => {
    const q = new EventQueue()
    const seen: Array<[number, number, number, number]> = []
    q.on(1, (a, b, x) => { seen.push([q.now, a, b, x]) })
    q.schedule(30, 1, 3, -3, 0.3)
    q.schedule(10, 1, 1, -1, 0.1)
    q.schedule(20, 1, 2, -2, 0.2)
    q.run(25)
    assert.deepEqual(seen, [[10, 1, -1, 0.1], [20, 2, -2, 0.2]])
    assert.equal(q.now, 25, 'the clock stands at untilMs')
    assert.equal(q.pending, 1)
    q.run()
    assert.deepEqual(seen[2], [30, 3, -3, 0.3])
    assert.equal(q.processed, 3)
  })

  it('lets a handler schedule more events and reuses their slots', () => {
    const q = new EventQueue()
    let count = 0
    q.on(2, (left) => { count++; if (left > 0) q.schedule(q.now + 1, 2, left - 1) })
    q.schedule(0, 2, 5000)
    q.run()
    assert.equal(count, 5001)
    assert.equal(q.now, 5000)
  })

  it('refuses an event in the past and an event kind with no handler, by name', () => {
    const q = new EventQueue()
    q.on(1, () => {})
    q.schedule(10, 1)
    q.run()
    assert.throws(() => { q.schedule(5, 1) }, (err: any) => err.name === 'SimConfigError' && err.code === 'ERR_SIM_CONFIG')
    q.schedule(11, 9)
    assert.throws(() => { q.run() }, (err: any) => err.name === 'SimConfigError' && /kind 9/.test(err.message))
  })

  it('runAsync waits for a handler that returns a promise before the next event', async () => {
    const q = new EventQueue()
    const order: string[] = []
    q.on(1, async () => { await new Promise(resolve => setTimeout(resolve, 10)); order.push('slow') })
    q.on(2, () => { order.push('next') })
    q.schedule(1, 1)
    q.schedule(2, 2)
    await q.runAsync()
    assert.deepEqual(order, ['slow', 'next'])
  })
})

describe('Rng: seeded random numbers', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = new Rng(7); const b = new Rng(7); const c = new Rng(8)
    const xs = Array.from({ length: 5 }, () => a.u32())
    assert.deepEqual(Array.from({ length: 5 }, () => b.u32()), xs)
    assert.notDeepEqual(Array.from({ length: 5 }, () => c.u32()), xs)
  })

  it('draws uniform values in range with the right mean, and exponentials with the given mean', () => {
    const r = new Rng(1)
    let sum = 0; let esum = 0
    for (let i = 0; i < 20_000; i++) {
      const x = r.next()
      assert.ok(x >= 0 && x < 1, `draw ${i} in [0, 1)`)
      sum += x
      esum += r.exp(5)
      const k = r.int(3)
      assert.ok(k === 0 || k === 1 || k === 2, `int draw ${i} in 0..2`)
    }
    assert.ok(Math.abs(sum / 20_000 - 0.5) < 0.01, `uniform mean ${sum / 20_000}`)
    assert.ok(Math.abs(esum / 20_000 - 5) < 0.2, `exponential mean ${esum / 20_000}`)
  })
})
