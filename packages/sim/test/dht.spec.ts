import assert from 'node:assert/strict'
import { KAD_K } from '../src/constants.js'
import { Dht, distance, keyId } from '../src/dht.js'
import { STATION } from '../src/nodes.js'
import { testScenario, world } from './helpers.js'

describe('dht: routing tables and findProviders', () => {
  it('holds only servers, at most K per 6-bit prefix, and answers the closest by XOR', () => {
    const s = testScenario({ nodes: 3000, stationShare: 0.5 })
    const { nodes, net, rng } = world(s)
    const dht = new Dht(nodes, net, rng, 40)
    assert.equal(dht.servers.length, 1500)
    const size = dht.tableSize(0)
    assert.ok(size <= 64 * KAD_K && size > 0, `table of ${size}`)
    const id = keyId('region/u33d')
    const close = dht.closest(0, id)
    assert.equal(close.length, KAD_K)
    for (let i = 1; i < close.length; i++) assert.ok(distance(nodes.kadId[close[i - 1]], id) <= distance(nodes.kadId[close[i]], id), `closest ${i} sorted`)
    for (const p of close) assert.equal(nodes.role[p], STATION, 'only servers are in tables')
    const truth = dht.trueClosest(id, 1)[0]
    assert.ok(distance(nodes.kadId[truth], id) <= distance(nodes.kadId[close[0]], id))
  })

  it('finds a provider in a few round trips, and fails when every record holder has left', () => {
    const s = testScenario({ nodes: 2000, stationShare: 0.5 })
    const { nodes, net, rng } = world(s)
    const dht = new Dht(nodes, net, rng, 40)
    dht.provide('model/x', 7)
    const src = nodes.byRegion[0][1999]
    const r = dht.findProviders(src, 'model/x', rng)
    assert.ok(r.found, 'found')
    assert.ok(r.ms >= 20 && r.ms <= 20 * 10, `${r.ms} ms: one or a few 20 ms round trips (plus dials)`)
    for (const p of dht.trueClosest(keyId('model/x'))) nodes.online[p] = 0
    const gone = dht.findProviders(src, 'model/x', rng)
    assert.equal(gone.found, false)
    assert.ok(gone.rpcs > 0)
  })
})
