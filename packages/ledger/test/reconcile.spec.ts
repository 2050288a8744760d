import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { RangeMode, ReconcileMessage } from '@fleetmesh/protocol'
import { IdSet, Reconciler } from '../src/reconcile.js'
import { initiateSession, respondSession } from '../src/session.js'
import { toHex } from '../src/signing.js'
import type { SessionIo } from '../src/session.js'

const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)))

/** Drives two reconcilers against each other; returns what each side found and the bytes on the wire. */
function drive (a: IdSet, b: IdSet): { aHave: Set<string>, aNeed: Set<string>, bHave: Set<string>, bNeed: Set<string>, bytes: number, rounds: number } {
  const ra = new Reconciler(a)
  const rb = new Reconciler(b)
  const out = { aHave: new Set<string>(), aNeed: new Set<string>(), bHave: new Set<string>(), bNeed: new Set<string>(), bytes: 0, rounds: 0 }
  let ranges = ra.initiate()
  let turn: 'a' | 'b' = 'b'
  while (ranges.length > 0) {
    out.bytes += ReconcileMessage.encode({ ranges, entries: [], want: new Uint8Array(0), more: false }).byteLength
    out.rounds++
    const step = (turn === 'b' ? rb : ra).reconcile(ranges)
    for (const id of step.have) (turn === 'b' ? out.bHave : out.aHave).add(toHex(id))
    for (const id of step.need) (turn === 'b' ? out.bNeed : out.aNeed).add(toHex(id))
    ranges = step.ranges
    turn = turn === 'b' ? 'a' : 'b'
    assert.ok(out.rounds < 40, 'terminates')
  }
  return out
}

describe('range-based set reconciliation (pure)', () => {
  it('a range\'s fingerprint is the same summed directly or from the prefix sums, and after an insert', () => {
    const all = ids(3000)
    // ids of all-0xff bytes make every word carry
    all.push(new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0xfe))
    const ranges: Array<[number, number]> = [[0, 3002], [0, 1], [1, 2], [17, 1800], [1500, 3002], [2999, 3002]]
    const direct = new IdSet(all)
    const viaDirect = ranges.map(([lo, hi]) => Buffer.from(direct.fingerprint(lo, hi)).toString('hex'))
    const built = new IdSet(all)
    for (let i = 0; i < 3; i++) built.fingerprint(0, built.size) // past twice the set: the prefix sums are built
    const viaPrefix = ranges.map(([lo, hi]) => Buffer.from(built.fingerprint(lo, hi)).toString('hex'))
    assert.deepEqual(viaDirect, viaPrefix)
    const extra = ids(1)[0] as Uint8Array
    direct.add(extra)
    built.add(extra)
    const fresh = new IdSet([...all, extra])
    assert.equal(Buffer.from(direct.fingerprint(0, direct.size)).toString('hex'), Buffer.from(fresh.fingerprint(0, fresh.size)).toString('hex'), 'words and sums follow an insert')
    for (let i = 0; i < 3; i++) fresh.fingerprint(0, fresh.size)
    assert.equal(Buffer.from(built.fingerprint(5, 2000)).toString('hex'), Buffer.from(fresh.fingerprint(5, 2000)).toString('hex'))
    assert.deepEqual(direct.snapshot().words(), fresh.words(), 'a snapshot shares the packed words')
  })

  it('finds exactly the symmetric difference, for sets of many shapes', () => {
    for (const [common, onlyA, onlyB] of [[0, 0, 0], [0, 5, 0], [0, 0, 500], [1000, 0, 0], [1000, 1, 0], [1000, 0, 1], [3000, 40, 70], [50, 300, 300], [10, 0, 2000]] as const) {
      const c = ids(common)
      const xa = ids(onlyA)
      const xb = ids(onlyB)
      const r = drive(new IdSet([...c, ...xa]), new IdSet([...c, ...xb]))
      const wantA = new Set(xa.map(toHex))
      const wantB = new Set(xb.map(toHex))
      // whoever received an id list reports; union over both sides must be exact
      assert.deepEqual(new Set([...r.aHave, ...r.bNeed]), wantA, `ids only in A (${common}/${onlyA}/${onlyB})`)
      assert.deepEqual(new Set([...r.bHave, ...r.aNeed]), wantB, `ids only in B (${common}/${onlyA}/${onlyB})`)
    }
  })

  it('bytes grow with the difference, not with the set size', () => {
    const sizes = [1000, 10_000, 50_000]
    const bytes: number[] = []
    for (const n of sizes) {
      const c = ids(n)
      const d = ids(20)
      const r = drive(new IdSet([...c, ...d.slice(0, 10)]), new IdSet([...c, ...d.slice(10)]))
      bytes.push(r.bytes)
      // 20 differences: at most log16(n) levels of ~16 fingerprints (~25 B) per difference plus id lists
      assert.ok(r.bytes < 20 * 6 * 16 * 30, `n=${n}: ${r.bytes} bytes for 20 differences`)
    }
    // per difference the cost grows with the tree depth, log16(n): 2.5 levels at 1k, 3.9 at 50k; with random
    // ids the differences share subtrees more or less by chance (measured 2.1x to 3.2x), linear would be 50x
    assert.ok((bytes[2] as number) < (bytes[0] as number) * 5, `50x the set, under 5x the bytes: ${bytes.join(', ')}`)
    const same = ids(20_000)
    assert.ok(drive(new IdSet(same), new IdSet(same)).bytes < 600, 'equal sets: one round of fingerprints')
  })

  it('a session moves the missing entries both ways and reports the bytes', async () => {
    const c = ids(2000)
    const xa = ids(30)
    const xb = ids(40)
    const storeA = new Map([...c, ...xa].map(id => [toHex(id), id]))
    const storeB = new Map([...c, ...xb].map(id => [toHex(id), id]))
    const [ioA, ioB, close] = pair()
    const hooks = (store: Map<string, Uint8Array>): any => ({
      ids: new IdSet(store.values()),
      getEntry: (id: Uint8Array) => new Uint8Array(Buffer.concat([id, new Uint8Array(300)])),
      putEntry: async (bytes: Uint8Array) => { const id = bytes.subarray(0, 32); store.set(toHex(id), id) }
    })
    const responder = respondSession(ioB, hooks(storeB), { entriesPerMessage: 16 })
    const sa = await initiateSession(ioA, hooks(storeA), { entriesPerMessage: 16 })
    close()
    const sb = await responder
    assert.deepEqual([...storeA.keys()].sort(), [...storeB.keys()].sort())
    assert.equal(sa.entriesSent, 30)
    assert.equal(sb.entriesSent, 40)
    assert.equal(sa.bytesSent, sb.bytesReceived)
    assert.ok(sa.bytesSent + sb.bytesSent < 70 * 332 + 70 * 16 * 30 * 4, `bytes ${sa.bytesSent + sb.bytesSent}`)
  })

  it('refuses malformed ranges', () => {
    const r = new Reconciler(new IdSet(ids(10)))
    assert.throws(() => r.reconcile([{ upperBound: new Uint8Array([5]), infinite: false, mode: RangeMode.FINGERPRINT, fingerprint: new Uint8Array(16), ids: new Uint8Array(0) }, { upperBound: new Uint8Array([4]), infinite: false, mode: RangeMode.FINGERPRINT, fingerprint: new Uint8Array(16), ids: new Uint8Array(0) }]), { name: 'ReconcileProtocolError' })
    assert.throws(() => r.reconcile([{ upperBound: new Uint8Array(0), infinite: true, mode: RangeMode.ID_LIST, fingerprint: new Uint8Array(0), ids: new Uint8Array(33) }]), { name: 'ReconcileProtocolError' })
    assert.throws(() => r.reconcile([{ upperBound: new Uint8Array(0), infinite: true, mode: RangeMode.FINGERPRINT, fingerprint: new Uint8Array(3), ids: new Uint8Array(0) }]), { name: 'ReconcileProtocolError' })
  })
})

/** Two in-memory message pipes; `close()` ends the responder's stream (what closing the libp2p stream does). */
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
