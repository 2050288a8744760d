import assert from 'node:assert/strict'
import { MAX_ROUTING_TABLE_CHECK_MS, ROUTING_TABLE_CHECK_MS } from '../src/constants.js'
import { nextRoutingCheckDelay } from '../src/routing-check.js'

describe('a station\'s routing-table check interval (nextRoutingCheckDelay)', () => {
  it('a check that saw the table or the stations known grow keeps the base interval, however far the delay had doubled', () => {
    // the join of 180 vehicles: three checks that gained nothing doubled the delay to 40 s
    const doubled = 40_000
    assert.equal(nextRoutingCheckDelay(doubled, { tableSize: 1, known: 2 }, { tableSize: 4, known: 9 }), ROUTING_TABLE_CHECK_MS, 'table and known grew')
    assert.equal(nextRoutingCheckDelay(doubled, { tableSize: 4, known: 9 }, { tableSize: 4, known: 13 }), ROUTING_TABLE_CHECK_MS, 'known grew')
    assert.equal(nextRoutingCheckDelay(doubled, { tableSize: 4, known: 13 }, { tableSize: 12, known: 13 }), ROUTING_TABLE_CHECK_MS, 'the table grew')
  })

  it('a check that saw nothing grow doubles the delay, up to MAX_ROUTING_TABLE_CHECK_MS', () => {
    const same = { tableSize: 1, known: 2 }
    let delay = ROUTING_TABLE_CHECK_MS
    const seen: number[] = []
    for (let i = 0; i < 6; i++) seen.push(delay = nextRoutingCheckDelay(delay, same, same))
    assert.deepEqual(seen, [10_000, 20_000, 40_000, MAX_ROUTING_TABLE_CHECK_MS, MAX_ROUTING_TABLE_CHECK_MS, MAX_ROUTING_TABLE_CHECK_MS])
    assert.equal(nextRoutingCheckDelay(ROUTING_TABLE_CHECK_MS, same, { tableSize: 0, known: 2 }), 10_000, 'a table that shrank is no growth')
    assert.equal(nextRoutingCheckDelay(ROUTING_TABLE_CHECK_MS, undefined, same), 10_000, 'no check before: no growth to compare')
  })
})
