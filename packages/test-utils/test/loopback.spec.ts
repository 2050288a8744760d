import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { LOOPBACK_GOSSIP_WHITELIST, loopbackGossip, loopbackListen, nextLoopbackHost } from '../src/loopback.js'
import type { AddressInfo } from 'node:net'

describe('loopback hosts', () => {
  it('hands out distinct 127.x.y.z hosts, never 127.0.0.1, none ending in .0 or .255', () => {
    const hosts = Array.from({ length: 600 }, () => nextLoopbackHost())
    assert.equal(new Set(hosts).size, hosts.length, 'every host distinct')
    for (const h of hosts) {
      const octets = h.split('.').map(Number)
      assert.equal(octets.length, 4, `${h}: four octets`)
      assert.equal(octets[0], 127, `${h}: in 127.0.0.0/8`)
      assert.ok(octets.every(o => Number.isInteger(o) && o >= 0 && o <= 255), `${h}: octets 0..255`)
      assert.ok((octets[1] as number) >= 16, `${h}: clear of the fixed 127.0–127.15 hosts`)
      assert.ok((octets[3] as number) >= 1 && (octets[3] as number) <= 254, `${h}: last octet 1..254`)
    }
  })

  it('a listen multiaddr on such a host can really be bound', async () => {
    const ma = loopbackListen()
    const m = /^\/ip4\/(127\.\d+\.\d+\.\d+)\/tcp\/0$/.exec(ma)
    assert.ok(m != null, ma)
    const server = createServer()
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, m[1], resolve) })
    assert.equal((server.address() as AddressInfo).address, m[1])
    await new Promise(resolve => server.close(resolve))
  })

  it('gossip options whitelist exactly the loopback dial source and keep topic score parameters', () => {
    assert.deepEqual(LOOPBACK_GOSSIP_WHITELIST, ['127.0.0.1'])
    const plain = loopbackGossip() as any
    assert.deepEqual([...plain.scoreParams.IPColocationFactorWhitelist], ['127.0.0.1'])
    assert.equal(plain.scoreParams.topics, undefined)
    const topics = { t: { topicWeight: 1 } }
    assert.equal((loopbackGossip(topics) as any).scoreParams.topics, topics)
  })
})
