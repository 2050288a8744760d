import { LevelDatastore } from 'datastore-level'
import type { VerifiedEntry } from './entry.js'

/**
 * Where a ledger keeps its entries: LevelDB (classic-level, through
 * datastore-level) in its own directory, or memory.
 *
 * Layout (utf8 keys): `e/<id>` → encoded entry; indexes with empty values:
 * `x/job/<jobId>/<id>`, `x/worker/<peer>/<finishedAt>/<id>`,
 * `x/requester/<peer>/<finishedAt>/<id>`, `x/time/<finishedAt>/<id>`,
 * `x/accused/<peer>/<id>`, `x/grant/<account>/<id>` (times zero-padded to 15 digits). An entry and
 * its index keys go in one batch written with `sync: true` (fsync before
 * the promise resolves), so an acknowledged entry survives a crash and no
 * index ever points at a missing entry. Pending settlements (a requester's
 * accepted, not yet countersigned receipts of a job; never gossiped) live
 * under `p/<jobId>`, written with `sync: true` too.
 */
export interface EntryStore {
  open(): Promise<void>
  close(): Promise<void>
  /** writes an entry and its index keys durably; idempotent */
  put(entry: VerifiedEntry): Promise<void>
  get(id: string): Promise<Uint8Array | undefined>
  /** every stored entry */
  all(): AsyncIterable<{ id: string, bytes: Uint8Array }>
  /** ids under an index prefix such as `job/<jobId>/` or `worker/<peer>/`, between optional times */
  index(prefix: string, range?: { since?: number, until?: number }): AsyncIterable<string>
  /** writes a job's encoded PendingSettlement durably (replacing one stored before) */
  putPending(jobId: string, bytes: Uint8Array): Promise<void>
  /** removes a job's pending settlement (durably); nothing if there is none */
  deletePending(jobId: string): Promise<void>
  /** every stored pending settlement, encoded */
  allPending(): AsyncIterable<Uint8Array>
}

const pad = (t: number): string => String(Math.max(0, Math.floor(t))).padStart(15, '0')
const enc = (s: string): string => encodeURIComponent(s)

/** Index keys of an entry (without the `x/` prefix). */
export function indexKeys (entry: VerifiedEntry): string[] {
  if (entry.kind === 'evidence') return [`accused/${enc(entry.evidence.accused)}/${entry.id}`]
  if (entry.kind === 'grant') return [`grant/${enc(entry.grant.account)}/${entry.id}`]
  const r = entry.receipt
  const t = pad(r.finishedAt)
  return [`job/${enc(r.jobId)}/${entry.id}`, `worker/${enc(r.worker)}/${t}/${entry.id}`, `requester/${enc(r.requester)}/${t}/${entry.id}`, `time/${t}/${entry.id}`]
}

/** Index prefix for a job, a worker, a requester or all receipts by time. */
export function indexPrefix (by: 'job' | 'worker' | 'requester' | 'time' | 'accused', key = ''): string {
  return by === 'time' ? 'time/' : `${by}/${enc(key)}/`
}

function timeBounds (prefix: string, range?: { since?: number, until?: number }): { gte: string, lt: string } {
  const timed = prefix.startsWith('worker/') || prefix.startsWith('requester/') || prefix.startsWith('time/')
  if (!timed || range == null) return { gte: `x/${prefix}`, lt: `x/${prefix}\xff` }
  return { gte: `x/${prefix}${pad(range.since ?? 0)}`, lt: range.until != null ? `x/${prefix}${pad(range.until)}` : `x/${prefix}\xff` }
}

/** LevelDB store in `dir` (created if missing). */
export class LevelEntryStore implements EntryStore {
  private readonly ds: LevelDatastore

  constructor (dir: string) {
    this.ds = new LevelDatastore(dir)
  }

  async open (): Promise<void> {
    await this.ds.open()
  }

  async close (): Promise<void> {
    await this.ds.close()
  }

  async put (entry: VerifiedEntry): Promise<void> {
    const ops: Array<{ type: 'put', key: string, value: Uint8Array }> = [{ type: 'put', key: `e/${entry.id}`, value: entry.bytes }]
    for (const k of indexKeys(entry)) ops.push({ type: 'put', key: `x/${k}`, value: new Uint8Array(0) })
    await this.ds.db.batch(ops, { sync: true })
  }

  async get (id: string): Promise<Uint8Array | undefined> {
    return (await this.ds.db.get(`e/${id}`)) ?? undefined
  }

  async * all (): AsyncIterable<{ id: string, bytes: Uint8Array }> {
    for await (const [key, value] of this.ds.db.iterator({ gte: 'e/', lt: 'e/\xff' })) {
      yield { id: key.slice(2), bytes: value }
    }
  }

  async * index (prefix: string, range?: { since?: number, until?: number }): AsyncIterable<string> {
    for await (const key of this.ds.db.keys(timeBounds(prefix, range))) {
      yield key.slice(key.lastIndexOf('/') + 1)
    }
  }

  async putPending (jobId: string, bytes: Uint8Array): Promise<void> {
    await this.ds.db.batch([{ type: 'put', key: `p/${enc(jobId)}`, value: bytes }], { sync: true })
  }

  async deletePending (jobId: string): Promise<void> {
    await this.ds.db.batch([{ type: 'del', key: `p/${enc(jobId)}` }], { sync: true })
  }

  async * allPending (): AsyncIterable<Uint8Array> {
    for await (const value of this.ds.db.values({ gte: 'p/', lt: 'p/\xff' })) yield value
  }
}

/** In-memory store (a node without a data directory, tests, benches). */
export class MemoryEntryStore implements EntryStore {
  private readonly entries = new Map<string, Uint8Array>()
  private readonly keys = new Set<string>()
  private readonly pending = new Map<string, Uint8Array>()

  async open (): Promise<void> {}
  async close (): Promise<void> {}

  async put (entry: VerifiedEntry): Promise<void> {
    this.entries.set(entry.id, entry.bytes)
    for (const k of indexKeys(entry)) this.keys.add(`x/${k}`)
  }

  async get (id: string): Promise<Uint8Array | undefined> {
    return this.entries.get(id)
  }

  async * all (): AsyncIterable<{ id: string, bytes: Uint8Array }> {
    for (const [id, bytes] of this.entries) yield { id, bytes }
  }

  async * index (prefix: string, range?: { since?: number, until?: number }): AsyncIterable<string> {
    const { gte, lt } = timeBounds(prefix, range)
    const hits = [...this.keys].filter(k => k >= gte && k < lt).sort()
    for (const k of hits) yield k.slice(k.lastIndexOf('/') + 1)
  }

  async putPending (jobId: string, bytes: Uint8Array): Promise<void> {
    this.pending.set(jobId, bytes)
  }

  async deletePending (jobId: string): Promise<void> {
    this.pending.delete(jobId)
  }

  async * allPending (): AsyncIterable<Uint8Array> {
    yield * this.pending.values()
  }
}
