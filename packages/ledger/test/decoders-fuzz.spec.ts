import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { InvalidReceiptError, RangeMode, ReconcileMessage } from '@fleetmesh/protocol'
import fc from 'fast-check'
import { decodeEntry } from '../src/entry.js'
import { SYMBOL_BYTES, SymbolDecoder, SymbolEncoder } from '../src/iblt.js'
import { decodeReceipt } from '../src/receipt.js'
import { IdSet, Reconciler } from '../src/reconcile.js'
import { initiateSession, respondSession } from '../src/session.js'
import { decodeShardReturn } from '../src/settle.js'
import type { SessionHooks, SessionIo } from '../src/session.js'
import type { ReconcileRange } from '@fleetmesh/protocol'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

/** A refusal is a typed fleetmesh error: a stable ERR_ code and a class name, not a bare Error, RangeError or TypeError. */
function assertTyped (err: any): void {
  assert.ok(typeof err?.code === 'string' && /^ERR_[A-Z_]+$/.test(err.code) && typeof err.name === 'string' && !['Error', 'RangeError', 'TypeError'].includes(err.name), `untyped ${err?.name}: ${err?.message}`)
}

const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)))
const idBytes = fc.uint8Array({ minLength: 32, maxLength: 32 })
/** Ranges of a peer that may lie (`modes`: the modes drawn; protons encodes only the known ones). */
const rangeOf = (modes: RangeMode[]): fc.Arbitrary<ReconcileRange> => fc.record({
  upperBound: fc.oneof(fc.uint8Array({ maxLength: 40 }), idBytes),
  infinite: fc.boolean(),
  mode: fc.constantFrom(...modes),
  fingerprint: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 40 })),
  ids: fc.oneof(fc.array(idBytes, { maxLength: 20 }).map(list => Uint8Array.from(list.flatMap(i => [...i]))), fc.uint8Array({ maxLength: 100 }))
}) as fc.Arbitrary<ReconcileRange>
const range = rangeOf([RangeMode.FINGERPRINT, RangeMode.ID_LIST, RangeMode.RANGE_MODE_SKIP])

/** Reconcile messages from a peer that may lie about anything: ranges, entries, wants, symbols and their window. */
const message: fc.Arbitrary<ReconcileMessage> = fc.record({
  ranges: fc.array(range, { maxLength: 20 }),
  entries: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
  want: fc.oneof(fc.array(idBytes, { maxLength: 10 }).map(list => Uint8Array.from(list.flatMap(i => [...i]))), fc.uint8Array({ maxLength: 70 })),
  more: fc.boolean(),
  symbols: fc.oneof(fc.constant(new Uint8Array(0)), fc.array(fc.uint8Array({ minLength: SYMBOL_BYTES, maxLength: SYMBOL_BYTES }), { maxLength: 40 }).map(list => Uint8Array.from(list.flatMap(s => [...s]))), fc.uint8Array({ maxLength: 100 })),
  symbolStart: fc.oneof(fc.constant(0), fc.nat(100), fc.integer({ min: 0, max: 0xffffffff })),
  symbolsWanted: fc.oneof(fc.constant(0), fc.nat(300), fc.integer({ min: 0, max: 0xffffffff })),
  setSize: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  rangesOnly: fc.boolean()
}) as fc.Arbitrary<ReconcileMessage>

/** Wire bytes of a message: encoded (structured), random, or encoded with one byte changed. */
const wire = fc.oneof(
  message.map(m => ReconcileMessage.encode(m)),
  fc.uint8Array({ maxLength: 2000 }),
  fc.tuple(message, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([m, at, delta]) => {
    const b = Uint8Array.from(ReconcileMessage.encode(m))
    if (b.byteLength > 0) b[at % b.byteLength] = ((b[at % b.byteLength] as number) + delta) % 256
    return b
  })
)

/** A scripted peer: `read` hands out `script` then ends; `write`s are counted. */
function scripted (script: Uint8Array[]): SessionIo & { writes: number, bytesWritten: number } {
  const queue = [...script]
  const io = {
    writes: 0,
    bytesWritten: 0,
    async read () { return queue.shift() },
    async write (bytes: Uint8Array) { io.writes++; io.bytesWritten += bytes.byteLength }
  }
  return io
}

/** Hooks over a fixed id set whose store refuses every entry the peer sends (the peer's entries never verify). */
function refusingHooks (set: Uint8Array[]): SessionHooks & { stored: number } {
  const hooks = {
    stored: 0,
    ids: new IdSet(set),
    getEntry: (id: Uint8Array) => new Uint8Array(Buffer.concat([id, new Uint8Array(50)])),
    putEntry: async (bytes: Uint8Array) => {
      decodeEntry(bytes)
      throw new InvalidReceiptError('fuzz: entries from this peer never verify')
    }
  }
  return hooks
}

describe('fuzz: ledger decoders (reconcile, IBLT, session, entries, shard returns)', function () {
  this.timeout(120_000 + RUNS * 100)
  const local = ids(200)

  it('Reconciler.reconcile over random ranges answers or throws ReconcileProtocolError; its answer only names ids of the ranges', () => {
    const reconciler = new Reconciler(new IdSet(local))
    fc.assert(fc.property(fc.array(rangeOf([RangeMode.FINGERPRINT, RangeMode.ID_LIST, RangeMode.RANGE_MODE_SKIP, 7 as unknown as RangeMode]), { maxLength: 30 }), (ranges) => {
      try {
        const step = reconciler.reconcile(ranges)
        assert.ok(step.have.length <= local.length, 'have lists only ids this side holds')
        assert.ok(step.ranges.length <= ranges.length * 16 + ranges.length, 'the answer is bounded by the question')
      } catch (err: any) {
        assert.equal(err?.code, 'ERR_RECONCILE_PROTOCOL', `${err?.name}: ${err?.message}`)
      }
    }), { numRuns: RUNS * 5 })
  })

  it('SymbolDecoder.add over random windows decodes, waits for more or throws ReconcileProtocolError, within its symbol bound', () => {
    const encoder = new SymbolEncoder(local)
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(60), fc.boolean(), fc.integer({ min: -2, max: 2 })), { minLength: 1, maxLength: 5 }), fc.nat(), (windows, seed) => {
      const decoder = new SymbolDecoder(encoder, 300)
      const remote = new SymbolEncoder([...local.slice(seed % 50), ...ids(seed % 7)])
      let start = 0
      for (const [n, random, skew] of windows) {
        const packed = random ? new Uint8Array(randomBytes(n * SYMBOL_BYTES)) : remote.encode(start, start + n)
        try {
          const state = decoder.add(start + skew, packed)
          assert.ok(state.received <= 300, 'never past the bound')
          assert.ok(state.remoteOnly.length + state.localOnly.length <= Math.max(local.length * 4, state.received * 4), 'decoded lists are bounded by the symbols received')
          start += n
        } catch (err: any) {
          assert.equal(err?.code, 'ERR_RECONCILE_PROTOCOL', `${err?.name}: ${err?.message}`)
          return
        }
      }
    }), { numRuns: RUNS * 2 })
  })

  it('respondSession against a peer sending random messages: ends or throws ReconcileProtocolError, answers each message once, stores nothing', async () => {
    await fc.assert(fc.asyncProperty(fc.array(wire, { minLength: 1, maxLength: 6 }), async (script) => {
      const io = scripted(script)
      const hooks = refusingHooks(local)
      try {
        const stats = await respondSession(io, hooks, { maxRounds: 64 })
        assert.equal(stats.entriesReceived, 0, 'no entry was stored')
      } catch (err: any) {
        assertTyped(err)
      }
      assert.ok(io.writes <= script.length, `${io.writes} answers to ${script.length} messages`)
      assert.equal(hooks.ids.size, local.length, 'the id set did not grow')
    }), { numRuns: RUNS })
  })

  it('initiateSession against a responder answering random messages: ends or throws ReconcileProtocolError within its round bound', async () => {
    await fc.assert(fc.asyncProperty(fc.array(wire, { maxLength: 8 }), async (script) => {
      const io = scripted(script)
      try {
        await initiateSession(io, refusingHooks(local), { maxRounds: 64 })
      } catch (err: any) {
        assertTyped(err)
      }
      assert.ok(io.writes <= script.length + 1, `${io.writes} messages for ${script.length} answers`)
    }), { numRuns: RUNS })
  })

  it('decodeEntry, decodeReceipt and decodeShardReturn throw only their typed errors on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      for (const decode of [decodeEntry, decodeReceipt, decodeShardReturn]) {
        try { decode(bytes) } catch (err) { assertTyped(err) }
      }
    }), { numRuns: RUNS * 5 })
  })
})
