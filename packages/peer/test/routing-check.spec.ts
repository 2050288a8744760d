import assert from 'node:assert/strict'
import { MAX_ROUTING_TABLE_CHECK_MS, ROUTING_TABLE_CHECK_MS } from '../src/constants.js'
import { nextRoutingCheckDelay } from '../src/routing-check.js'

describe('a station\'s routing-table check interval (nextRoutingCheckDelay)', () => {
  it('a check that saw the table or the stations known grow keeps the base interval, however far the delay had doubled', () => {
    // the join of 180 vehicles: the checks that gained nothing doubled the delay
    const doubled = MAX_ROUTING_TABLE_CHECK_MS
    assert.equal(nextRoutingCheckDelay(doubled, { tableSize: 1, known: 2 }, { tableSize: 4, known: 9 }), ROUTING_TABLE_CHECK_MS, 'table and known grew')
    assert.equal(nextRoutingCheckDelay(doubled, { tableSize: 4, known: 9 }, { tableSize: 4, known: 13 }), ROUTING_TABLE_CHECK_MS, 'known grew')
    assert.equal(nextRoutingCheckDelay(doubled, { tableSize: 4, known: 13 }, { tableSize: 12, known: 13 }), ROUTING_TABLE_CHECK_MS, 'the table grew')
  })

  it('a check that saw nothing grow doubles the delay, up to MAX_ROUTING_TABLE_CHECK_MS', () => {
    const same = { tableSize: 1, known: 2 }
    let delay = ROUTING_TABLE_CHECK_MS
    const seen: number[] = []
    for (let i = 0; i < 6; i++) seen.push(delay = nextRoutingCheckDelay(delay, same, same))
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6].map(k => Math.min(ROUTING_TABLE_CHECK_MS * 2 ** k, MAX_ROUTING_TABLE_CHECK_MS)))
    assert.equal(seen.at(-1), MAX_ROUTING_TABLE_CHECK_MS, 'the delay stops at its bound')
    assert.equal(nextRoutingCheckDelay(ROUTING_TABLE_CHECK_MS, same, { tableSize: 0, known: 2 }), Math.min(2 * ROUTING_TABLE_CHECK_MS, MAX_ROUTING_TABLE_CHECK_MS), 'a table that shrank is no growth')
    assert.equal(nextRoutingCheckDelay(ROUTING_TABLE_CHECK_MS, undefined, same), Math.min(2 * ROUTING_TABLE_CHECK_MS, MAX_ROUTING_TABLE_CHECK_MS), 'no check before: no growth to compare')
  })
})
