/**
 * bench/ledger: two ledgers of 100k countersigned receipts each that
 * differ by 1 % (1k receipts only in A, 1k only in B, 99k common).
 * Measures, in the same run:
 *  - range-based set reconciliation (@fleetmesh/ledger's session: the
 *    Negentropy-style range rounds plus the exchange of the missing
 *    entries, every received entry verified before it is stored): bytes
 *    both ways, messages, wall time;
 *  - a naive full exchange: each side sends every entry it holds; the
 *    receiver decodes each, hashes its id, and verifies and stores the ones
 *    it lacks: bytes both ways, wall time;
 *  - an id-list exchange (each side sends all 32-byte ids, then the missing
 *    entries), bytes only, as a second reference.
 * Both run in one process over in-memory message pipes (no sockets), so
 * the times are CPU, not network; `reconciliation.cpuMs` is the process's
 * CPU time (every thread: signature checks run in libuv's pool) during the
 * session, which a loaded machine does not inflate the way it does `ms`. Bytes count each message plus its varint
 * length prefix (what lpStream puts on the wire).
 * The session picks its mode itself (rateless IBLT coded symbols for this
 * difference; ranges for near-identical sets); `--ranges-only` measures
 * the range-based mode alone for comparison.
 * Then the adaptive-verification simulation (bench/ledger-verification.ts).
 * Prints one JSON object whose `figures` hold reconcileMs,
 * bytesOverMissing, verificationOverhead and cheaterEscapeRate.
 * Run: npm run bench:ledger -- [--size 100000] [--diff 0.01] [--ranges-only]
 */
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createAuthority, issueCertificate } from '@fleetmesh/protocol'
import {
  CertificateVerifier, countersignReceipt, decodeEntry, encodeEntry, entryId, fromHex, IdSet, initiateSession, respondSession, signWorkerReceipt, toHex, verifyEntry
} from '@fleetmesh/ledger'
import { simulateVerification } from './ledger-verification.js'
import type { SessionIo } from '@fleetmesh/ledger'

const { values } = parseArgs({ options: { size: { type: 'string', default: '100000' }, diff: { type: 'string', default: '0.01' }, 'ranges-only': { type: 'boolean', default: false } } })
const SIZE = Number(values.size)
const DIFF = Math.round(SIZE * Number(values.diff))

const varintLen = (n: number): number => n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4

function pipes (): { a: SessionIo, b: SessionIo, close: () => void, bytes: () => number } {
  const q: [Uint8Array[], Uint8Array[]] = [[], []]
  const w: [Array<() => void>, Array<() => void>] = [[], []]
  let closed = false
  let bytes = 0
  const wake = (i: 0 | 1): void => { w[i].splice(0).forEach(f => { f() }) }
  const io = (me: 0 | 1): SessionIo => ({
    async read () {
      while (q[me].length === 0) {
        if (closed) return undefined
        await new Promise<void>(resolve => { w[me].push(resolve) })
      }
      return q[me].shift()
    },
    async write (m) {
      bytes += m.byteLength + varintLen(m.byteLength)
      const o = (1 - me) as 0 | 1
      q[o].push(m)
      wake(o)
    }
  })
  return { a: io(0), b: io(1), close: () => { closed = true; wake(0); wake(1) }, bytes: () => bytes }
}

async function main (): Promise<unknown> {
  const authority = await createAuthority()
  const rk = await generateKeyPair('Ed25519')
  const wk = await generateKeyPair('Ed25519')
  const requester = peerIdFromPrivateKey(rk)
  const worker = peerIdFromPrivateKey(wk)
  const rc = await issueCertificate(authority, { peerId: requester, role: 'station', region: 'u33d', validForMs: 3600_000 })
  const wc = await issueCertificate(authority, { peerId: worker, role: 'vehicle', region: 'u33d', validForMs: 3600_000, owner: 'owner-1' })
  const t0 = Date.now()
  const total = SIZE + DIFF
  const entries: Array<{ id: string, bytes: Uint8Array }> = []
  for (let i = 0; i < total; i++) {
    const now = Date.now()
    const signed = await signWorkerReceipt(wk, wc, {
      jobId: `job-${Math.floor(i / 8)}`, shardIndex: i % 8, requester, worker, modelCid: 'bafkreibench', inputDigest: new Uint8Array(32).fill(i % 251), outputDigest: new Uint8Array(32).fill(i % 241), computeMs: 40, units: 100, pricePerUnit: 0.5, startedAt: now - 50, finishedAt: now - 10, leaseId: `lease-${i}`
    })
    const bytes = encodeEntry({ receipt: await countersignReceipt(rk, rc, signed) })
    entries.push({ id: toHex(entryId(decodeEntry(bytes))), bytes })
  }
  const generateMs = Date.now() - t0
  // A: common + first DIFF extras; B: common + last DIFF extras
  const common = entries.slice(0, SIZE - DIFF)
  const onlyA = entries.slice(SIZE - DIFF, SIZE)
  const onlyB = entries.slice(SIZE, SIZE + DIFF)
  const side = (list: Array<{ id: string, bytes: Uint8Array }>): Map<string, Uint8Array> => new Map(list.map(e => [e.id, e.bytes]))

  // ---- range-based reconciliation
  const A = side([...common, ...onlyA])
  const B = side([...common, ...onlyB])
  const certificates = new CertificateVerifier([authority.publicKey])
  const idSets = { A: new IdSet([...A.keys()].map(fromHex)), B: new IdSet([...B.keys()].map(fromHex)) }
  const hooks = (store: Map<string, Uint8Array>, ids: IdSet): Parameters<typeof initiateSession>[1] => ({
    // a ledger keeps its id set live and hands each session a snapshot
    ids: ids.snapshot(),
    getEntry: (id) => store.get(toHex(id)),
    putEntry: async (bytes) => { const e = await verifyEntry(bytes, { certificates }); store.set(e.id, bytes) }
  })
  const p = pipes()
  const t1 = performance.now()
  const cpu1 = process.cpuUsage()
  const options = values['ranges-only'] === true ? { symbolsSwitch: 0 } : {}
  const hb = hooks(B, idSets.B)
  const ha = hooks(A, idSets.A)
  const responder = respondSession(p.b, hb, options)
  const sa = await initiateSession(p.a, ha, options)
  p.close()
  const sb = await responder
  const reconcileMs = performance.now() - t1
  const cpu = process.cpuUsage(cpu1)
  const reconcileCpuMs = (cpu.user + cpu.system) / 1000
  const ok = A.size === SIZE + DIFF && B.size === SIZE + DIFF

  // ---- naive full exchange: every entry both ways, receiver keeps and verifies the new ones
  const A2 = side([...common, ...onlyA])
  const B2 = side([...common, ...onlyB])
  const t2 = performance.now()
  let naiveBytes = 0
  const naiveSend = async (from: Map<string, Uint8Array>, to: Map<string, Uint8Array>): Promise<void> => {
    const snapshot = [...from.values()]
    for (const bytes of snapshot) {
      naiveBytes += bytes.byteLength + varintLen(bytes.byteLength)
      const id = toHex(entryId(decodeEntry(bytes)))
      if (!to.has(id)) { await verifyEntry(bytes, { certificates }); to.set(id, bytes) }
    }
  }
  await naiveSend(A2, B2)
  await naiveSend(B2, A2)
  const naiveMs = performance.now() - t2
  const naiveOk = A2.size === SIZE + DIFF && B2.size === SIZE + DIFF

  // ---- id-list exchange (bytes only): all ids both ways, then the missing entries
  const entryBytes = (list: Array<{ bytes: Uint8Array }>): number => list.reduce((n, e) => n + e.bytes.byteLength + varintLen(e.bytes.byteLength), 0)
  const idListBytes = 2 * SIZE * 32 + entryBytes(onlyA) + entryBytes(onlyB)

  const reconcileBytes = p.bytes()
  const verification = simulateVerification()
  const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d
  return {
    bench: 'ledger reconciliation: 100k vs 100k receipts differing by 1 %',
    size: SIZE,
    onlyInEach: DIFF,
    meanEntryBytes: Math.round(entryBytes(entries) / entries.length),
    generateMs,
    reconciliation: { mode: sa.mode, bytes: reconcileBytes, ms: Math.round(reconcileMs), cpuMs: Math.round(reconcileCpuMs), messages: sa.rounds + sb.rounds, codedSymbols: sa.symbols, entriesMoved: sa.entriesSent + sb.entriesSent, converged: ok },
    naiveFullExchange: { bytes: naiveBytes, ms: Math.round(naiveMs), converged: naiveOk },
    idListExchange: { bytes: idListBytes },
    missingEntriesBytes: entryBytes(onlyA) + entryBytes(onlyB),
    ratio: {
      bytes: round(reconcileBytes / naiveBytes),
      time: round(reconcileMs / naiveMs),
      bytesVsIdList: round(reconcileBytes / idListBytes),
      overheadOverMissingEntries: round(reconcileBytes / (entryBytes(onlyA) + entryBytes(onlyB)) - 1)
    },
    verification,
    figures: {
      reconcileMs: Math.round(reconcileMs),
      bytesOverMissing: round(reconcileBytes / (entryBytes(onlyA) + entryBytes(onlyB)) - 1),
      verificationOverhead: verification.verificationOverhead,
      cheaterEscapeRate: verification.cheaterEscapeRate
    },
    goal: {
      bytesRatioAtMost: 0.05,
      reconcileMsAtMost: 1000,
      bytesOverMissingAtMost: 0.25,
      verificationOverheadAtMost: 0.05,
      cheaterEscapeRateAtMost: 0.01,
      met: reconcileBytes / naiveBytes <= 0.05 && reconcileMs <= 1000 && reconcileBytes / (entryBytes(onlyA) + entryBytes(onlyB)) - 1 <= 0.25 && verification.verificationOverhead <= 0.05 && verification.cheaterEscapeRate <= 0.01
    }
  }
}

console.log(JSON.stringify(await main(), null, 2))
process.exit(0)
