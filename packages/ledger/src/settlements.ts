import { DemandTimer, MAX_LEDGER_ENTRY_BYTES, PbPendingSettlement, PbSettleRequest, PbSettleResponse, SETTLE_PROTOCOL, SettleStatus } from '@fleetmesh/protocol'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import {
  MAX_PENDING_RECEIPTS, MAX_PENDING_SETTLEMENTS, MAX_SETTLE_REFUSALS, MAX_SETTLE_STREAMS, MAX_UNSETTLED_RECEIPTS, SETTLE_MAX_ATTEMPTS, SETTLE_PRESENT_AFTER_MS, SETTLE_RETRY_MS,
  SETTLE_TIMEOUT_MS
} from './constants.js'
import { TooManyPendingSettlementsError } from './errors.js'
import { receiptId } from './receipt.js'
import { baseJobId } from './micro-batch.js'
import { toHex } from './signing.js'
import type { VerifiedReceipt } from './receipt.js'
import type { EntryStore } from './store.js'
import type { PbReceipt } from '@fleetmesh/protocol'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/**
 * Settlement that survives the requester. A requester records the
 * worker-signed receipts of a job whose results it accepted
 * (`holdSettlement`, a PendingSettlement in the ledger's store, fsync'd)
 * before the job's outputs are served, and drops the record once the job
 * is settled (`endSettlement`); a record still there at start is resumed:
 * each receipt is countersigned, or refused with the reason.
 *
 * A worker follows each receipt it signed for a lease (`shardReturn`):
 * one not seen countersigned SETTLE_PRESENT_AFTER_MS after signing is
 * presented again to its requester over SETTLE_PROTOCOL, which answers
 * COUNTERSIGNED (with the receipt), REFUSED (with the reason) or PENDING
 * (the job still runs); PENDING and an unreachable requester are retried
 * (SETTLE_RETRY_MS, doubling up to 8×) up to SETTLE_MAX_ATTEMPTS times.
 * Both tables are bounded.
 */

/** Timings of settlement follow-up, ms. Plain data. */
export interface SettlementOptions {
  /** @default SETTLE_PRESENT_AFTER_MS (10000) */
  presentAfterMs?: number
  /** @default SETTLE_RETRY_MS (5000) */
  retryMs?: number
  /** @default SETTLE_MAX_ATTEMPTS (12) */
  maxAttempts?: number
  /** @default SETTLE_TIMEOUT_MS (10000) */
  timeoutMs?: number
}

/** What a worker learnt of a receipt it presented again (the `settlement` event). */
export interface SettlementOutcome {
  /** receipt id, hex */
  id: string
  jobId: string
  /** requester PeerId string */
  requester: string
  status: 'countersigned' | 'refused' | 'gave-up'
  /** why it was refused, or why the worker gave up */
  reason?: string
  attempts: number
}

/** A job whose settlement a requester recorded and has not ended. */
export interface PendingSettlementInfo {
  jobId: string
  /** receipts still to countersign */
  receipts: number
  /** ms since the epoch */
  createdAt: number
}

/** What the settlements part gets from the ledger service. */
export interface SettlementsContext {
  log: Logger
  registrar: Registrar
  connectionManager: ConnectionManager
  isAdmitted: (peer: PeerId) => boolean
  store: () => EntryStore | undefined
  /** the stored countersigned receipt with this id, if any */
  countersigned: (id: string) => PbReceipt | undefined
  checkWorkerReceipt: (receipt: PbReceipt) => Promise<VerifiedReceipt>
  countersign: (receipt: PbReceipt) => Promise<VerifiedReceipt>
  /** stores (verified) and gossips a countersigned receipt a requester sent back */
  addCountersigned: (receipt: PbReceipt) => Promise<void>
  /** true while this node has an open commitment for the job (it still runs) */
  isRunning: (jobId: string) => boolean
  emit: (outcome: SettlementOutcome) => void
  options: SettlementOptions
}

interface Pending {
  jobId: string
  createdAt: number
  /** receipt id → worker-signed receipt, still to countersign */
  receipts: Map<string, PbReceipt>
}

interface Unsettled {
  id: string
  jobId: string
  requester: string
  receipt: PbReceipt
  attempts: number
  /** ms since the epoch: next presentation */
  nextAt: number
  busy: boolean
}

/** The requester's and the worker's side of settlement follow-up (composed by the ledger service). */
export class Settlements {
  private readonly ctx: SettlementsContext
  private readonly pending = new Map<string, Pending>()
  /** receipt id → pending job id */
  private readonly pendingIds = new Map<string, string>()
  private readonly refusals = new Map<string, string>()
  private readonly unsettled = new Map<string, Unsettled>()
  /** follow-up of unsettled receipts: armed while there are some */
  private readonly timer: DemandTimer
  private resuming?: Promise<void>

  constructor (ctx: SettlementsContext) {
    this.ctx = ctx
    this.timer = new DemandTimer(Math.max(50, Math.min(1000, this.presentAfterMs / 4)), () => { this.tick() }, () => this.unsettled.size > 0)
  }

  private get presentAfterMs (): number { return this.ctx.options.presentAfterMs ?? SETTLE_PRESENT_AFTER_MS }
  private get retryMs (): number { return this.ctx.options.retryMs ?? SETTLE_RETRY_MS }

  /** Loads the stored pending settlements and serves SETTLE_PROTOCOL. */
  async start (): Promise<void> {
    const store = this.ctx.store()
    if (store != null) {
      for await (const bytes of store.allPending()) {
        try {
          const p = PbPendingSettlement.decode(bytes, { limits: { receipts: MAX_PENDING_RECEIPTS } })
          this.remember(p.jobId, p.receipts, Number(p.createdAt))
        } catch (err: any) {
          this.ctx.log.error('stored pending settlement does not decode, ignored - %s', err?.message ?? err)
        }
      }
    }
    await this.ctx.registrar.handle(SETTLE_PROTOCOL, (stream, connection) => { void this.onStream(stream, connection) }, {
      maxInboundStreams: MAX_SETTLE_STREAMS,
      maxOutboundStreams: MAX_SETTLE_STREAMS,
      runOnLimitedConnection: true
    })
    this.timer.restart()
  }

  /** Resumes the settlements found at start (once the ledger can gossip). */
  resume (): void {
    const jobs = [...this.pending.values()]
    if (jobs.length === 0) return
    this.ctx.log('resuming %d pending settlement(s)', jobs.length)
    this.resuming = (async () => {
      for (const p of jobs) {
        for (const r of [...p.receipts.values()]) await this.settleOne(p, r).catch(() => {})
        await this.finishIfDone(p)
      }
    })()
  }

  async stop (): Promise<void> {
    this.timer.stop()
    await this.ctx.registrar.unhandle(SETTLE_PROTOCOL).catch(() => {})
    await this.resuming?.catch(() => {})
  }

  // ---------------------------------------------------------------- requester

  private remember (jobId: string, receipts: PbReceipt[], createdAt: number): Pending {
    const p: Pending = { jobId, createdAt, receipts: new Map() }
    for (const r of receipts) {
      const id = receiptIdHex(r)
      p.receipts.set(id, r)
      this.pendingIds.set(id, jobId)
    }
    this.pending.set(jobId, p)
    return p
  }

  /** See `Ledger.holdSettlement`. */
  async hold (jobId: string, receipts: PbReceipt[]): Promise<void> {
    const store = this.ctx.store()
    if (store == null) return
    if (!this.pending.has(jobId) && this.pending.size >= MAX_PENDING_SETTLEMENTS) throw new TooManyPendingSettlementsError(`${this.pending.size} jobs await settlement here, the most kept (MAX_PENDING_SETTLEMENTS); settle or end some first`)
    if (receipts.length > MAX_PENDING_RECEIPTS) throw new TooManyPendingSettlementsError(`job ${jobId} has ${receipts.length} receipts to settle, over MAX_PENDING_RECEIPTS (${MAX_PENDING_RECEIPTS})`)
    const open = receipts.filter(r => this.ctx.countersigned(receiptIdHex(r)) == null)
    const createdAt = Date.now()
    await store.putPending(jobId, PbPendingSettlement.encode({ jobId, receipts: open, acceptedDigests: [], createdAt: BigInt(createdAt) }))
    this.forgetPending(jobId)
    this.remember(jobId, open, createdAt)
  }

  /** See `Ledger.endSettlement`. */
  async end (jobId: string, refused: Array<{ id: string, reason: string }> = []): Promise<void> {
    for (const r of refused) this.refuse(r.id, r.reason)
    this.forgetPending(jobId)
    await this.ctx.store()?.deletePending(jobId)
  }

  /** See `Ledger.pendingSettlements`. */
  list (): PendingSettlementInfo[] {
    return [...this.pending.values()].map(p => ({ jobId: p.jobId, receipts: p.receipts.size, createdAt: p.createdAt }))
  }

  private forgetPending (jobId: string): void {
    const p = this.pending.get(jobId)
    if (p == null) return
    for (const id of p.receipts.keys()) this.pendingIds.delete(id)
    this.pending.delete(jobId)
  }

  private refuse (id: string, reason: string): void {
    this.refusals.delete(id)
    this.refusals.set(id, reason)
    while (this.refusals.size > MAX_SETTLE_REFUSALS) this.refusals.delete(this.refusals.keys().next().value as string)
  }

  /** Countersigns one receipt of a pending settlement, or refuses it with the reason. */
  private async settleOne (p: Pending, receipt: PbReceipt): Promise<PbSettleResponse> {
    const id = receiptIdHex(receipt)
    try {
      const signed = await this.ctx.countersign(receipt)
      return { status: SettleStatus.COUNTERSIGNED, receipt: signed.receipt, reason: '' }
    } catch (err: any) {
      const reason = `${err?.code ?? 'ERR_UNKNOWN'}: ${err?.message ?? err}`
      this.ctx.log('pending receipt %s of job %s refused - %s', id, p.jobId, reason)
      this.refuse(id, reason)
      return { status: SettleStatus.REFUSED, reason }
    } finally {
      p.receipts.delete(id)
      this.pendingIds.delete(id)
    }
  }

  private async finishIfDone (p: Pending): Promise<void> {
    if (p.receipts.size > 0 || this.pending.get(p.jobId) !== p) return
    this.pending.delete(p.jobId)
    await this.ctx.store()?.deletePending(p.jobId).catch((err: any) => { this.ctx.log.error('pending settlement of job %s not removed - %s', p.jobId, err?.message ?? err) })
  }

  /** The answer to a worker that presents `receipt`. */
  async answer (receipt: PbReceipt): Promise<PbSettleResponse> {
    let info: VerifiedReceipt
    try {
      info = await this.ctx.checkWorkerReceipt(receipt)
    } catch (err: any) {
      return { status: SettleStatus.REFUSED, reason: `the receipt does not verify here: ${err?.message ?? err}` }
    }
    const known = this.ctx.countersigned(info.id)
    if (known != null) return { status: SettleStatus.COUNTERSIGNED, receipt: known, reason: '' }
    const refused = this.refusals.get(info.id)
    if (refused != null) return { status: SettleStatus.REFUSED, reason: refused }
    const p = this.pending.get(this.pendingIds.get(info.id) ?? '')
    if (p != null) {
      const res = await this.settleOne(p, receipt)
      await this.finishIfDone(p)
      return res
    }
    const base = baseJobId(info.jobId)
    if (this.ctx.isRunning(info.jobId) || this.ctx.isRunning(base)) return { status: SettleStatus.PENDING, reason: `job ${info.jobId} is still running` }
    return { status: SettleStatus.REFUSED, reason: `no accepted result of job ${info.jobId} shard ${info.shardIndex} is recorded at this requester` }
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    if (!this.ctx.isAdmitted(connection.remotePeer)) {
      stream.abort(new Error('not admitted'))
      return
    }
    const signal = AbortSignal.timeout(this.ctx.options.timeoutMs ?? SETTLE_TIMEOUT_MS)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_LEDGER_ENTRY_BYTES + 64 })
      const req = PbSettleRequest.decode((await lp.read({ signal })).subarray())
      const res: PbSettleResponse = req.receipt == null ? { status: SettleStatus.REFUSED, reason: 'the request carries no receipt' } : await this.answer(req.receipt)
      await lp.write(PbSettleResponse.encode(res), { signal })
      await stream.close({ signal }).catch(() => {})
    } catch (err: any) {
      this.ctx.log('settle stream from %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    }
  }

  // ---------------------------------------------------------------- worker

  /** Follows a receipt this worker signed for a lease until it is countersigned or refused. */
  follow (receipt: PbReceipt, jobId: string, requester: string): void {
    const id = receiptIdHex(receipt)
    if (this.unsettled.has(id)) return
    this.unsettled.set(id, { id, jobId, requester, receipt, attempts: 0, nextAt: Date.now() + this.presentAfterMs, busy: false })
    this.timer.arm()
    while (this.unsettled.size > MAX_UNSETTLED_RECEIPTS) this.unsettled.delete(this.unsettled.keys().next().value as string)
  }

  /** See `Ledger.unsettledReceipts`. */
  followed (): Array<{ id: string, jobId: string, requester: string, attempts: number }> {
    return [...this.unsettled.values()].filter(u => this.ctx.countersigned(u.id) == null).map(u => ({ id: u.id, jobId: u.jobId, requester: u.requester, attempts: u.attempts }))
  }

  private tick (): void {
    const now = Date.now()
    for (const u of [...this.unsettled.values()]) {
      if (this.ctx.countersigned(u.id) != null) {
        this.unsettled.delete(u.id)
        continue
      }
      if (u.busy || now < u.nextAt) continue
      u.busy = true
      void this.present(u).finally(() => { u.busy = false })
    }
  }

  /** Presents a followed receipt to its requester once. */
  async present (u: Unsettled): Promise<void> {
    u.attempts++
    const max = this.ctx.options.maxAttempts ?? SETTLE_MAX_ATTEMPTS
    let again: string
    try {
      const res = await this.exchange(peerIdFromString(u.requester), u.receipt)
      if (res.status === SettleStatus.COUNTERSIGNED && res.receipt != null) {
        await this.ctx.addCountersigned(res.receipt)
        this.done(u, 'countersigned')
        return
      }
      if (res.status === SettleStatus.REFUSED) {
        this.done(u, 'refused', res.reason)
        return
      }
      again = res.reason !== '' ? res.reason : 'pending'
    } catch (err: any) {
      again = `requester unreachable: ${err?.message ?? err}`
    }
    if (u.attempts >= max) {
      this.done(u, 'gave-up', `${again} (after ${u.attempts} presentations)`)
      return
    }
    u.nextAt = Date.now() + this.retryMs * 2 ** Math.min(3, u.attempts - 1)
  }

  private done (u: Unsettled, status: SettlementOutcome['status'], reason?: string): void {
    this.unsettled.delete(u.id)
    this.ctx.log('receipt %s of job %s at %s: %s%s', u.id, u.jobId, u.requester, status, reason != null ? ` - ${reason}` : '')
    this.ctx.emit({ id: u.id, jobId: u.jobId, requester: u.requester, status, reason, attempts: u.attempts })
  }

  private async exchange (peer: PeerId, receipt: PbReceipt): Promise<PbSettleResponse> {
    const signal = AbortSignal.timeout(this.ctx.options.timeoutMs ?? SETTLE_TIMEOUT_MS)
    const stream = await this.ctx.connectionManager.openStream(peer, SETTLE_PROTOCOL, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_LEDGER_ENTRY_BYTES + 64 })
      await lp.write(PbSettleRequest.encode({ receipt }), { signal })
      const res = PbSettleResponse.decode((await lp.read({ signal })).subarray())
      await stream.close({ signal }).catch(() => {})
      return res
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }
}

/** Hex receipt id (sha2-256 of the body, shared by the worker-signed and the countersigned receipt). */
function receiptIdHex (receipt: PbReceipt): string {
  return toHex(receiptId(receipt))
}
