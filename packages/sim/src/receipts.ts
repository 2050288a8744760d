import { computeBalances, IdSet, initiateSession, respondSession, sha256, toHex } from '@fleetmesh/ledger'
import type { Balances, SessionIo, SessionStats, VerifiedReceipt } from '@fleetmesh/ledger'

/**
 * Receipts in the simulator. A receipt is the plain `VerifiedReceipt` the
 * ledger's balance functions take (countersigned, no certificates' owner
 * accounts); its id is the sha2-256 of its fields (the simulator signs
 * nothing: a real receipt's id is the sha2-256 of its signed body, which
 * the reconciliation treats the same way, as 32 opaque bytes).
 *
 * Reconciliation runs the ledger's own sessions (`initiateSession` /
 * `respondSession`, range fingerprints and IBLT symbols) between two
 * nodes' `IdSet`s over an in-memory transport; the session's rounds and
 * bytes give its duration and cost. Balances are the ledger's
 * `computeBalances` over a node's set.
 */

/** Bytes of one countersigned receipt entry on the wire (a real entry carries the body, two signatures and two certificates). */
export const RECEIPT_ENTRY_BYTES = 900

/** What a simulated receipt says. */
export interface ReceiptInit {
  jobId: string
  shardIndex: number
  replica: number
  /** PeerId strings */
  requester: string
  worker: string
  units: number
  pricePerUnit: number
  /** ms since the epoch */
  startedAt: number
  finishedAt: number
}

/** A receipt of the simulator: the plain receipt and its 32-byte id. */
export interface SimReceipt {
  receipt: VerifiedReceipt
  id: Uint8Array
}

/** Makes the countersigned receipt of a finished shard. */
export function makeReceipt (f: ReceiptInit): SimReceipt {
  const id = sha256(new TextEncoder().encode(JSON.stringify([f.requester, f.jobId, f.shardIndex, f.replica, f.worker, f.units, f.pricePerUnit, f.startedAt, f.finishedAt])))
  const receipt: VerifiedReceipt = {
    id: toHex(id),
    jobId: f.jobId,
    shardIndex: f.shardIndex,
    replica: f.replica,
    requester: f.requester,
    worker: f.worker,
    modelCid: 'bafkreisimulatedmodel',
    inputDigest: '',
    outputDigest: '',
    computeMs: Math.max(0, f.finishedAt - f.startedAt),
    units: f.units,
    pricePerUnit: f.pricePerUnit,
    startedAt: f.startedAt,
    finishedAt: f.finishedAt,
    leaseId: '',
    countersigned: true,
    workerOwner: '',
    workerJurisdiction: '',
    requesterOwner: '',
    receipt: { body: new Uint8Array(0), workerSignature: new Uint8Array(0), requesterSignature: new Uint8Array(0) } as any
  }
  return { receipt, id }
}

/** A session transport in memory; `close()` ends the other side's reads. */
export type MemoryIo = SessionIo & { close: () => void }

/** Two in-memory message pipes joined back to back: what one side writes the other reads. */
export function memoryPair (): [MemoryIo, MemoryIo] {
  const make = (): { queue: Uint8Array[], waiting?: (m: Uint8Array | undefined) => void, closed: boolean } => ({ queue: [], closed: false })
  const ab = make(); const ba = make()
  const io = (inbox: ReturnType<typeof make>, outbox: ReturnType<typeof make>): MemoryIo => ({
    async read () {
      const m = inbox.queue.shift()
      if (m != null) return m
      if (inbox.closed) return undefined
      return await new Promise(resolve => { inbox.waiting = resolve })
    },
    async write (bytes) {
      const w = outbox.waiting
      if (w != null) { outbox.waiting = undefined; w(bytes) } else outbox.queue.push(bytes)
    },
    close () {
      outbox.closed = true
      const w = outbox.waiting
      if (w != null) { outbox.waiting = undefined; w(undefined) }
    }
  })
  const a = io(ba, ab)
  const b = io(ab, ba)
  return [a, b]
}

/** The result of {@link reconcilePair}. */
export interface PairResult {
  /** ids the initiator received */
  toInitiator: Uint8Array[]
  /** ids the responder received */
  toResponder: Uint8Array[]
  initiator: SessionStats
  responder: SessionStats
}

/**
 * One real reconciliation session between two id sets (snapshots: the
 * sets are not changed; the caller adds what each side received when the
 * session's virtual time is up). Entries are `entryBytes` long, the id
 * first.
 */
export async function reconcilePair (initiator: IdSet, responder: IdSet, entryBytes = RECEIPT_ENTRY_BYTES): Promise<PairResult> {
  const [ia, rb] = memoryPair()
  const toInitiator: Uint8Array[] = []
  const toResponder: Uint8Array[] = []
  const entry = (id: Uint8Array): Uint8Array => { const e = new Uint8Array(Math.max(32, entryBytes)); e.set(id); return e }
  const responding = respondSession(rb, { ids: responder, getEntry: entry, putEntry: async (bytes) => { toResponder.push(bytes.slice(0, 32)) } })
  const initiated = await initiateSession(ia, { ids: initiator, getEntry: entry, putEntry: async (bytes) => { toInitiator.push(bytes.slice(0, 32)) } })
  ia.close()
  const responded = await responding
  return { toInitiator, toResponder, initiator: initiated, responder: responded }
}

/**
 * Every node's receipt set (exact mode): real `IdSet`s, filled by gossip
 * arrivals and by reconciliation sessions.
 */
export class ReceiptSets {
  readonly sets: IdSet[]
  private readonly byId = new Map<string, VerifiedReceipt>()
  /** receipts created, in creation order */
  readonly all: SimReceipt[] = []

  constructor (nodeCount: number) {
    this.sets = Array.from({ length: nodeCount }, () => new IdSet())
  }

  /** Registers a new receipt (not yet held by any node). */
  create (r: SimReceipt): number {
    this.byId.set(r.receipt.id, r.receipt)
    this.all.push(r)
    return this.all.length - 1
  }

  /** Node `node` now holds receipt `index`; false if it did already. */
  hold (node: number, index: number): boolean {
    return this.sets[node].add(this.all[index].id)
  }

  /** Node `node` now holds the receipt of id `id` (from a session). */
  holdId (node: number, id: Uint8Array): boolean {
    return this.sets[node].add(id)
  }

  /** The receipts node `node` holds. */
  receiptsOf (node: number): VerifiedReceipt[] {
    return this.sets[node].all().map(id => this.byId.get(toHex(id)) as VerifiedReceipt)
  }

  /** The ledger's balances over node `node`'s set. */
  balancesOf (node: number): Balances {
    return computeBalances(this.receiptsOf(node))
  }
}

/** Cost of sessions between sets of `size` ids that differ by `diff` (the initiator lacking them), from real sessions. */
export async function sessionCost (size: number, diff: number, seed = 1): Promise<{ messages: number, bytes: number }> {
  const ids: Uint8Array[] = []
  for (let i = 0; i < size + diff; i++) ids.push(sha256(new TextEncoder().encode(`${seed}/${i}`)))
  const a = new IdSet(ids.slice(diff))
  const b = new IdSet(ids)
  const r = await reconcilePair(a, b)
  return { messages: r.initiator.rounds + r.responder.rounds, bytes: r.initiator.bytesSent + r.responder.bytesSent }
}
