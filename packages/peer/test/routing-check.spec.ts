import assert from 'node:assert/strict'
import { MAX_ROUTING_TABLE_CHECK_MS, ROUTING_TABLE_CHECK_MS } from '../src/constants.js'
import { namedPeers, nextRoutingCheckDelay } from '../src/routing-check.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

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

describe('the peers a Kad-DHT query event names (namedPeers)', () => {
  it('takes the closer peers of a PEER_RESPONSE and the peer of a FINAL_PEER, and nothing from other events or malformed ones', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    assert.deepEqual(namedPeers({ name: 'PEER_RESPONSE', closer: [{ id: a }, { id: b }, {}], providers: [{ id: c }] }).map(String), [a, b].map(String), 'closer peers, not providers')
    assert.deepEqual(namedPeers({ name: 'FINAL_PEER', peer: { id: c } }).map(String), [String(c)])
    assert.deepEqual(namedPeers({ name: 'SEND_QUERY', to: a }), [])
    assert.deepEqual(namedPeers({ name: 'PEER_RESPONSE', closer: 'not a list' }), [])
    assert.deepEqual(namedPeers(undefined), [])
  })
})
