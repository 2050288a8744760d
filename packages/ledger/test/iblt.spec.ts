import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { SYMBOL_BYTES, SymbolDecoder, SymbolEncoder } from '../src/iblt.js'
import { IdSet } from '../src/reconcile.js'
import { initiateSession, respondSession } from '../src/session.js'
import { toHex } from '../src/signing.js'
import type { SessionIo, SessionOptions, SessionStats } from '../src/session.js'

const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)))
const hexes = (list: Uint8Array[]): string[] => list.map(toHex).sort()

/** Feeds the encoder's windows to the decoder, growing by 1.5, until complete. */
function decodeAll (remote: Uint8Array[], local: Uint8Array[], first = 16): { remoteOnly: string[], localOnly: string[], symbols: number } {
  const enc = new SymbolEncoder(remote)
  const dec = new SymbolDecoder(local, 1 << 20)
  let sent = 0
  let end = first
  for (let round = 0; round < 60; round++) {
    const st = dec.add(sent, enc.encode(sent, end))
    sent = end
    if (st.complete) return { remoteOnly: hexes(st.remoteOnly), localOnly: hexes(st.localOnly), symbols: sent }
    end = Math.ceil(end * 1.5)
  }
  throw new Error('did not decode')
}

/** Two in-memory message pipes; `close()` ends the responder's stream. */
function pair (): [SessionIo, SessionIo, () => void] {
  const queues: [Uint8Array[], Uint8Array[]] = [[], []]
  const waiters: [Array<() => void>, Array<() => void>] = [[], []]
  let closed = false
  const wake = (i: 0 | 1): void => { waiters[i].splice(0).forEach(w => { w() }) }
  const io = (me: 0 | 1): SessionIo => ({
    async read () {
      while (queues[me].length === 0) {
        if (closed) return undefined
        await new Promise<void>(resolve => { waiters[me].push(resolve) })
      }
      return queues[me].shift()
    },
    async write (bytes) {
      const other = (1 - me) as 0 | 1
      queues[other].push(bytes)
      wake(other)
    }
  })
  return [io(0), io(1), () => { closed = true; wake(0); wake(1) }]
}

/** A full session between two id stores (an entry is its id plus 100 bytes). */
async function session (a: Uint8Array[], b: Uint8Array[], options: SessionOptions = {}): Promise<{ a: string[], b: string[], sa: SessionStats, sb: SessionStats }> {
  const storeA = new Map(a.map(id => [toHex(id), id]))
  const storeB = new Map(b.map(id => [toHex(id), id]))
  const hooks = (store: Map<string, Uint8Array>): any => ({
    ids: new IdSet(store.values()),
    getEntry: (id: Uint8Array) => new Uint8Array(Buffer.concat([id, new Uint8Array(100)])),
    putEntry: async (bytes: Uint8Array) => { const id = bytes.slice(0, 32); store.set(toHex(id), id) }
  })
  const [ioA, ioB, close] = pair()
  const responder = respondSession(ioB, hooks(storeB), options)
  const sa = await initiateSession(ioA, hooks(storeA), options)
  close()
  const sb = await responder
  return { a: [...storeA.keys()].sort(), b: [...storeB.keys()].sort(), sa, sb }
}

describe('rateless IBLT (pure)', () => {
  it('decodes exactly the symmetric difference, with about 1.35–1.9 coded symbols per difference', () => {
    const common = ids(5000)
    const xa = ids(300)
    const xb = ids(200)
    const r = decodeAll([...common, ...xb], [...common, ...xa])
    assert.deepEqual(r.remoteOnly, hexes(xb), 'ids only the sender holds')
    assert.deepEqual(r.localOnly, hexes(xa), 'ids only the receiver holds')
    // the window grows by 1.5, so the symbols sent overshoot what was needed by up to 1.5x
    assert.ok(r.symbols / 500 < 1.9 * 1.5, `${r.symbols} symbols for 500 differences`)
  })

  it('equal sets decode from the first window; an empty side gets every id', () => {
    const s = ids(1000)
    assert.deepEqual(decodeAll(s, s), { remoteOnly: [], localOnly: [], symbols: 16 })
    const few = ids(40)
    assert.deepEqual(decodeAll(few, []).remoteOnly, hexes(few))
    assert.deepEqual(decodeAll([], few).localOnly, hexes(few))
  })

  it('symbols are 44 bytes; windows must come in order and within the bound', () => {
    const enc = new SymbolEncoder(ids(10))
    assert.equal(enc.encode(0, 8).byteLength, 8 * SYMBOL_BYTES)
    const dec = new SymbolDecoder(ids(10), 20)
    assert.throws(() => dec.add(4, enc.encode(4, 8)), { name: 'ReconcileProtocolError' })
    assert.throws(() => dec.add(0, new Uint8Array(SYMBOL_BYTES + 1)), { name: 'ReconcileProtocolError' })
    assert.throws(() => dec.add(0, enc.encode(0, 21)), { name: 'ReconcileProtocolError' })
  })

  it('property: a session leaves both sides with the union, in range mode and in symbol mode (random sets)', async function () {
    this.timeout(60_000)
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }), fc.constantFrom(0, 8, 1),
      async (common, onlyA, onlyB, symbolsSwitch) => {
        const c = ids(common)
        const xa = ids(onlyA)
        const xb = ids(onlyB)
        const r = await session([...c, ...xa], [...c, ...xb], { symbolsSwitch })
        const union = hexes([...c, ...xa, ...xb])
        assert.deepEqual(r.a, union, `A holds the union (${common}/${onlyA}/${onlyB}, switch ${symbolsSwitch})`)
        assert.deepEqual(r.b, union, `B holds the union (${common}/${onlyA}/${onlyB}, switch ${symbolsSwitch})`)
        assert.equal(r.sa.entriesSent, onlyA, 'A sent exactly what B lacked')
        assert.equal(r.sb.entriesSent, onlyB, 'B sent exactly what A lacked')
        if (symbolsSwitch === 0) assert.equal(r.sa.mode, 'ranges')
      }), { numRuns: 40 })
  })

  it('near-identical sets stay on ranges; large differences switch to coded symbols, which cost less', async () => {
    const c = ids(20_000)
    const few = await session([...c, ...ids(3)], [...c, ...ids(2)])
    assert.equal(few.sa.mode, 'ranges', 'five differences: ranges')
    const xa = ids(200)
    const xb = ids(200)
    const symbols = await session([...c, ...xa], [...c, ...xb])
    const ranges = await session([...c, ...xa], [...c, ...xb], { symbolsSwitch: 0 })
    assert.equal(symbols.sa.mode, 'symbols')
    const bytes = (r: { sa: SessionStats, sb: SessionStats }): number => r.sa.bytesSent + r.sb.bytesSent
    assert.ok(bytes(symbols) < bytes(ranges), `400 differences: symbols ${bytes(symbols)} bytes < ranges ${bytes(ranges)} bytes`)
  })

  it('sets that share little fall back to ranges only', async () => {
    const r = await session(ids(3000), ids(3000))
    assert.equal(r.a.length, 6000)
    assert.equal(r.b.length, 6000)
    assert.ok(r.sa.symbols > 0, 'tried coded symbols first')
  })
})
