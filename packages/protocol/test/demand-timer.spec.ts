import assert from 'node:assert/strict'
import { DemandTimer } from '../src/index.js'

const delay = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

describe('DemandTimer', function () {
  this.timeout(10_000)

  it('runs only between arm() and the first round that finds no work, and arms again on demand', async () => {
    let work = 3
    let runs = 0
    let arms = 0
    const timer = new DemandTimer(20, () => { runs++; work = Math.max(0, work - 1) }, () => work > 0, () => { arms++ })
    await delay(100)
    assert.equal(runs, 0, 'never armed: no round')
    timer.arm()
    timer.arm()
    assert.equal(arms, 1, 'a second arm() while armed starts nothing')
    await delay(300)
    assert.equal(runs, 3, 'three rounds with work; the third left none and disarmed it')
    assert.equal(timer.armed, false)
    work = 1
    timer.arm()
    await delay(200)
    assert.equal(runs, 4)
    assert.equal(arms, 2, 'onArm ran once per start')
    timer.stop()
  })

  it('after stop() arm() starts nothing until restart()', async () => {
    let runs = 0
    const timer = new DemandTimer(10, () => { runs++ }, () => true)
    timer.arm()
    await delay(60)
    timer.stop()
    const after = runs
    assert.ok(after > 0)
    timer.arm()
    await delay(60)
    assert.equal(runs, after, 'stopped for good')
    timer.restart()
    timer.arm()
    await delay(60)
    assert.ok(runs > after, 'runs again after restart()')
    timer.stop()
  })
})
