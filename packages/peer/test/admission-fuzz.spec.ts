import assert from 'node:assert/strict'
import { ADMISSION_PROTOCOL } from '@fleetmesh/protocol'
import fc from 'fast-check'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import { createRawNode } from './utils/raw-node.js'
import type { TestMesh } from '@fleetmesh/test-utils'

/** Streams tried: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Math.max(5, Math.round(Number(process.env.FUZZ_RUNS ?? 100) / 10))

describe('fuzz: the admission stream handler', function () {
  this.timeout(60_000 + RUNS * 3000)
  let fleet: TestMesh

  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('random bytes on the admission stream never crash the node: ending without bytes is no refusal, anything else is a typed refusal or silence', async () => {
    const station = await fleet.add('station', 'u33d')
    const target = station.getMultiaddrs()[0] as any
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    try {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 6000 }), fc.boolean(), async (bytes, abort) => {
        const raw = await createRawNode(fleet.swarmKey)
        try {
          const before = station.refusals().length
          const stream = await raw.dialProtocol(target, ADMISSION_PROTOCOL, { signal: AbortSignal.timeout(2000) })
          if (bytes.byteLength > 0) stream.send(bytes)
          if (abort) stream.abort(new Error('fuzz'))
          else await stream.close().catch(() => {})
          await new Promise(resolve => setTimeout(resolve, 50))
          const mine = station.refusals().slice(before).filter(r => r.peerId.equals(raw.peerId))
          if (bytes.byteLength === 0) assert.equal(mine.filter(r => r.code !== 'ERR_ADMISSION_TIMEOUT').length, 0, 'an admission stream that ends empty is no refusal')
          for (const r of mine) assert.match(r.code, /^ERR_[A-Z_]+$/)
          assert.equal(station.isAdmitted(raw.peerId), false, 'never admitted')
        } finally {
          await raw.stop()
        }
      }), { numRuns: RUNS })
    } finally {
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    }
    assert.deepEqual(uncaught, [], 'no uncaught error')
    // still serving members
    const vehicle = await fleet.add('vehicle', 'u33d')
    await vehicle.connect(target)
    await waitUntil(() => station.isAdmitted(vehicle.peerId), { timeoutMs: 3000, message: 'a member is admitted afterwards' })
  })
})
