import assert from 'node:assert/strict'
import { MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, MARKET_PROTOCOL, MarketMessage, openEnvelope, RECONCILE_PROTOCOL, REVOCATION_PROTOCOL } from '@fleetmesh/protocol'
import { createTestMesh, waitAdmitted } from '@fleetmesh/test-utils'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'
import type { TestMesh } from '@fleetmesh/test-utils'

/** Streams tried per protocol: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const STREAMS = Math.max(5, Math.round(Number(process.env.FUZZ_RUNS ?? 100) / 10))

/** How long a stream whose writer closed may take to end at the handler, ms (the handlers' own timeouts are longer: none may be waited on). */
const END_WITHIN_MS = 10_000

const lengthPrefixed = (b: Uint8Array): Uint8Array => Uint8Array.from([...varint.encode(b.byteLength), ...b])

/** What an admitted peer may send: random bytes, or random messages behind good length prefixes. */
const wire = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.array(fc.uint8Array({ maxLength: 500 }), { minLength: 1, maxLength: 4 }).map(list => Uint8Array.from(list.flatMap(m => [...lengthPrefixed(m)])))
)

/** The first length-prefixed message of `bytes`, if whole. */
function firstMessage (bytes: Uint8Array): Uint8Array | undefined {
  try {
    const n = varint.decode(bytes)
    const at = varint.encodingLength(n)
    return bytes.byteLength >= at + n ? bytes.subarray(at, at + n) : undefined
  } catch {
    return undefined
  }
}

/** An admitted member sending random bytes on the market, reconcile and revocation streams of another. */
describe('fuzz: the market, reconcile and revocation stream handlers', function () {
  this.timeout(60_000 + STREAMS * 3 * (END_WITHIN_MS / 4))
  let fleet: TestMesh

  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('each stream ends (answered or reset) soon after the writer closes; the market answers with a signed refusal; nothing is stored; nobody is dropped', async () => {
    const station = await fleet.add('station', 'u33d')
    const member = await fleet.add('vehicle', 'u33d', { bootstrap: station.getMultiaddrs().map(String) })
    await waitAdmitted(station, [member])
    const before = { entries: station.libp2p.services.ledger.size, lists: station.libp2p.services.revocations.lists().length, admitted: station.libp2p.services.admission.admitted().length }
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    try {
      for (const protocol of [MARKET_PROTOCOL, RECONCILE_PROTOCOL, REVOCATION_PROTOCOL]) {
        await fc.assert(fc.asyncProperty(wire, async (bytes) => {
          const stream = await member.libp2p.dialProtocol(station.peerId, protocol, { signal: AbortSignal.timeout(5000) })
          // read from the start: a stream's data and end that arrive before anyone reads are not replayed to a later reader
          const received = new Uint8ArrayList()
          const started = Date.now()
          const reading = (async () => {
            try {
              for await (const chunk of stream) received.append(chunk)
              return true
            } catch (err: any) {
              return !/did not end/.test(String(err?.message))
            }
          })()
          if (bytes.byteLength > 0) stream.send(bytes)
          await stream.close({ signal: AbortSignal.timeout(5000) }).catch(() => {})
          const timer = setTimeout(() => { stream.abort(new Error('fuzz: the handler did not end the stream')) }, END_WITHIN_MS)
          const ended = await reading
          clearTimeout(timer)
          assert.ok(ended, `${protocol}: the stream was still open ${Date.now() - started} ms after the writer closed`)
          const reply = firstMessage(received.subarray())
          if (protocol === MARKET_PROTOCOL && reply != null) {
            const m = MarketMessage.decode((await openEnvelope(reply, MARKET_DOMAIN, { payloadType: MARKET_PAYLOAD_TYPE })).payload)
            assert.equal(m.ack?.ok, false, 'random bytes are refused')
            assert.match(String(m.ack?.code), /^ERR_[A-Z_]+$/)
          }
        }), { numRuns: STREAMS })
      }
    } finally {
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    }
    assert.deepEqual(uncaught, [], 'no uncaught error')
    assert.deepEqual({ entries: station.libp2p.services.ledger.size, lists: station.libp2p.services.revocations.lists().length, admitted: station.libp2p.services.admission.admitted().length }, before, 'no entry, list or admission changed')
    assert.equal(station.isAdmitted(member.peerId), true, 'the member is still admitted')
  })
})
