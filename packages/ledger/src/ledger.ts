import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { InvalidConfigError, InvalidReceiptError, PbShardReturn, MAX_LEDGER_ENTRY_BYTES, MAX_RECONCILE_MESSAGE_BYTES, RECEIPTS_TOPIC, RECONCILE_PROTOCOL, verifyCertificate } from '@fleetmesh/protocol'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { computeBalances, computeEarnings } from './balances.js'
import { CertificateVerifier } from './certificates.js'
import { GRANT_FILE_SUFFIX, GRANTS_DIR, MAX_RECONCILE_STREAMS, MICRO_PER_CREDIT, RECONCILE_TIMEOUT_MS, REQUIRE_FUNDS } from './constants.js'
import { FundsIndex } from './funds-index.js'
import { RecordIndex } from './record-index.js'
import { receiptAmount } from './balances.js'
import { decodeEntry, encodeEntry, entryId, ownBytes, verifyEntry } from './entry.js'
import { InsufficientFundsError, LedgerNotStartedError } from './errors.js'
import { createEquivocationEvidence, createMismatchEvidence, verifyEvidence } from './evidence.js'
import { countersignReceipt, signWorkerReceipt, verifyReceipt } from './receipt.js'
import { baseJobId } from './micro-batch.js'
import { IdSet } from './reconcile.js'
import { ReconcileRounds } from './reconcile-rounds.js'
import { initiateSession, respondSession } from './session.js'
import { Settlements } from './settlements.js'
import { verificationRate } from './verification.js'
import type { VerificationPolicy, VerificationRecord } from './verification.js'
import { buf, fromHex, toHex } from './signing.js'
import { indexPrefix, LevelEntryStore, MemoryEntryStore } from './store.js'
import type { Balances, EarningsReport, ReputationReport } from './balances.js'
import type { VerifiedEntry } from './entry.js'
import type { VerifiedEvidence } from './evidence.js'
import type { Commitment } from './funds.js'
import type { VerifiedGrant } from './grant.js'
import { registerLedgerMetrics } from './metrics.js'
import type { LedgerMetrics } from './metrics.js'
import type { Ledger, LedgerComponents, LedgerEvents, LedgerInit, ReceiptQuery, ShardReturnInit } from './index.js'
import type { ReceiptFields, VerifiedReceipt } from './receipt.js'
import type { EntryStore } from './store.js'
import type { PendingSettlementInfo } from './settlements.js'
import type { SessionIo, SessionStats } from './session.js'
import type { PbEvidence, PbGrant, PbReceipt, VerifiedCertificate } from '@fleetmesh/protocol'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

/** gossipsub's TopicValidatorResult values (string enum in @libp2p/gossipsub). */
const ACCEPT = 'accept'
const IGNORE = 'ignore'
const REJECT = 'reject'

function lpIo (stream: Stream, signal: AbortSignal): SessionIo {
  const lp = lpStream(stream, { maxDataLength: MAX_RECONCILE_MESSAGE_BYTES })
  return {
    async read () {
      try {
        return (await lp.read({ signal })).subarray()
      } catch (err: any) {
        if (err?.name === 'UnexpectedEOFError') return undefined
        throw err
      }
    },
    async write (bytes) { await lp.write(bytes, { signal }) }
  }
}

/**
 * The ledger service: stores verified entries (countersigned receipts and
 * evidence), gossips new ones on RECEIPTS_TOPIC, reconciles with a random
 * admitted peer over RECONCILE_PROTOCOL every `reconcileIntervalMs` while
 * the set changes (backing off to `reconcileMaxIntervalMs` while rounds find
 * nothing), and
 * derives balances, earnings and reputation from the set. Not exported
 * from the package; tests import it.
 */
export class LedgerService extends TypedEventEmitter<LedgerEvents> implements Ledger, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/ledger'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/ledger']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', '@fleetmesh/admission']

  private readonly components: LedgerComponents
  private readonly init: LedgerInit
  private readonly log: Logger
  private readonly certificates: CertificateVerifier
  private readonly ids = new IdSet()
  private readonly entries = new Map<string, VerifiedEntry>()
  private readonly inflight = new Map<string, Promise<VerifiedEntry | undefined>>()
  private store?: EntryStore
  private started = false
  private readonly rounds: ReconcileRounds
  private own?: VerifiedCertificate
  private derived?: { balances?: Balances }
  private reconciling = false
  private readonly open = new Map<string, Commitment>()
  /** the funding figures of the set, kept as entries arrive */
  private readonly funds = new FundsIndex()
  /** reputation and verification records of the set, kept as entries arrive */
  private readonly records: RecordIndex
  /** countersignatures run one at a time, so two cannot both spend the same credits */
  private paying: Promise<unknown> = Promise.resolve()
  private readonly metrics?: LedgerMetrics
  private readonly settlements: Settlements
  /** secret seed of this node's shard sampling (workers must not predict which shards are checked) */
  readonly sampleSeed: string

  constructor (components: LedgerComponents, init: LedgerInit) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('fleetmesh:ledger')
    this.certificates = new CertificateVerifier(init.trustedAuthorities)
    this.rounds = new ReconcileRounds(async () => this.reconcileRandom(), { intervalMs: init.reconcileIntervalMs, maxIntervalMs: init.reconcileMaxIntervalMs })
    this.sampleSeed = init.sampleSeed ?? toHex(randomBytes(16))
    this.records = new RecordIndex(init.mismatchWeight)
    if (components.pubsub == null) throw new InvalidConfigError('the ledger service needs the gossipsub service under the name "pubsub"')
    if (components.admission == null) throw new InvalidConfigError('the ledger service needs the admission service under the name "admission"')
    if (components.metrics != null) this.metrics = registerLedgerMetrics(components.metrics, components.peerId.toString(), () => this.balances())
    this.settlements = new Settlements({
      log: this.log,
      registrar: components.registrar,
      connectionManager: components.connectionManager,
      isAdmitted: (peer) => components.admission.isAdmitted(peer),
      store: () => this.store,
      countersigned: (id) => { const e = this.entries.get(id); return e?.kind === 'receipt' ? e.receipt.receipt : undefined },
      checkWorkerReceipt: async (r) => this.checkWorkerReceipt(r),
      countersign: async (r) => this.countersign(r),
      addCountersigned: async (r) => { await this.add(encodeEntry({ receipt: r })) },
      isRunning: (jobId) => this.open.has(jobId),
      emit: (detail) => { this.safeDispatchEvent('settlement', { detail }) },
      options: init.settlement ?? {}
    })
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    try {
      this.own = await verifyCertificate(this.init.certificate, { trustedAuthorities: this.init.trustedAuthorities, peerId: this.components.peerId })
    } catch (err: any) {
      throw new InvalidConfigError(`the ledger's certificate is not valid for this node: ${err?.message ?? err}`)
    }
    this.store = this.init.dir != null ? new LevelEntryStore(this.init.dir) : new MemoryEntryStore()
    await this.store.open()
    let loaded = 0
    for await (const { id, bytes } of this.store.all()) {
      try {
        const e = await verifyEntry(ownBytes(bytes), { certificates: this.certificates, now: Number.MAX_SAFE_INTEGER })
        if (e.id !== id) throw new InvalidReceiptError('stored under another id')
        this.remember(e)
        loaded++
      } catch (err: any) {
        this.log.error('stored entry %s does not verify, ignored - %s', id, err?.message ?? err)
      }
    }
    await this.components.registrar.handle(RECONCILE_PROTOCOL, (stream, connection) => { void this.onReconcileStream(stream, connection) }, {
      maxInboundStreams: MAX_RECONCILE_STREAMS,
      maxOutboundStreams: MAX_RECONCILE_STREAMS,
      runOnLimitedConnection: true
    })
    await this.settlements.start()
    this.started = true
    for (const bytes of this.init.grants ?? []) {
      await this.addGrant(bytes).catch((err: any) => { this.log.error('grant given at start refused - %s', err?.message ?? err) })
    }
    await this.loadGrants()
    this.rounds.start()
    this.log('started with %d entries from %s', loaded, this.init.dir ?? 'memory')
  }

  /** Gossip starts once every service (gossipsub included) has started. */
  afterStart (): void {
    const pubsub = this.components.pubsub
    pubsub.topicValidators.set(RECEIPTS_TOPIC, this.validate)
    pubsub.subscribe(RECEIPTS_TOPIC)
    this.settlements.resume()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.rounds.stop()
    const pubsub = this.components.pubsub
    pubsub.topicValidators.delete(RECEIPTS_TOPIC)
    try { pubsub.unsubscribe(RECEIPTS_TOPIC) } catch {}
    await this.components.registrar.unhandle(RECONCILE_PROTOCOL).catch(() => {})
    await this.settlements.stop()
    await Promise.allSettled([...this.inflight.values()])
    await this.store?.close()
    this.store = undefined
  }

  // ---------------------------------------------------------------- the set

  private remember (e: VerifiedEntry): void {
    if (this.entries.has(e.id)) return
    this.entries.set(e.id, e)
    this.ids.add(fromHex(e.id))
    if (e.kind === 'receipt') {
      const { paid, unpaid } = this.funds.addReceipt(e.receipt)
      if (unpaid != null) this.records.unpaid(unpaid)
      if (paid != null) this.records.paid(paid)
      this.records.addReceipt(e.receipt)
    } else if (e.kind === 'grant') {
      this.funds.addGrant(e.grant)
    } else if (e.kind === 'evidence') {
      this.records.addEvidence(e.evidence)
    }
    this.derived = undefined
  }

  /**
   * Verifies an encoded entry and stores it durably if new.
   *
   * @returns the entry, or undefined if it was already known
   */
  private async ingest (bytes: Uint8Array, source: 'local' | 'gossip' | 'reconcile'): Promise<VerifiedEntry | undefined> {
    const id = toHex(entryId(decodeEntry(bytes)))
    if (this.entries.has(id)) return undefined
    const running = this.inflight.get(id)
    if (running != null) return running.then(() => undefined)
    const p = (async () => {
      // the ledger keeps what it stores for as long as it runs: not the buffer the entry arrived in
      const e = await verifyEntry(ownBytes(bytes), { certificates: this.certificates })
      const store = this.store
      if (store == null) throw new LedgerNotStartedError('the ledger is not started')
      await store.put(e)
      this.remember(e)
      this.rounds.entryAdded()
      this.metrics?.stored[e.kind].increment({ [source]: true })
      this.safeDispatchEvent('entry', { detail: { id: e.id, kind: e.kind, source } })
      return e
    })()
    this.inflight.set(id, p)
    try {
      return await p
    } finally {
      this.inflight.delete(id)
    }
  }

  private readonly validate = async (_from: PeerId, msg: any): Promise<any> => {
    try {
      const data: Uint8Array = msg.data
      if (data.byteLength > MAX_LEDGER_ENTRY_BYTES) {
        this.metrics?.gossipValidation.increment({ reject: true })
        return REJECT
      }
      const e = await this.ingest(data, 'gossip')
      this.metrics?.gossipValidation.increment(e == null ? { ignore: true } : { accept: true })
      return e == null ? IGNORE : ACCEPT
    } catch (err: any) {
      this.log('gossiped entry refused - %s', err?.message ?? err)
      this.safeDispatchEvent('rejected', { detail: { code: err?.code ?? 'ERR_UNKNOWN', source: 'gossip' } })
      const ignore = err?.action === 'ignore'
      this.metrics?.gossipValidation.increment(ignore ? { ignore: true } : { reject: true })
      this.metrics?.gossipRejected.increment({ [String(err?.code ?? 'ERR_UNKNOWN')]: true })
      return ignore ? IGNORE : REJECT
    }
  }

  private async publish (bytes: Uint8Array): Promise<void> {
    try {
      await this.components.pubsub.publish(RECEIPTS_TOPIC, bytes)
    } catch (err: any) {
      // no subscribed peer yet: reconciliation will carry it
      this.log('publish failed - %s', err?.message ?? err)
    }
  }

  /** {@inheritDoc Ledger.add} */
  async add (bytes: Uint8Array): Promise<VerifiedEntry | undefined> {
    if (!this.started) throw new LedgerNotStartedError('the ledger is not started; start the node first')
    const e = await this.ingest(bytes, 'local')
    if (e != null) await this.publish(bytes)
    return e
  }

  has (id: string): boolean {
    return this.entries.has(id)
  }

  get size (): number {
    return this.entries.size
  }

  /** {@inheritDoc Ledger.entryIds} */
  entryIds (): string[] {
    return [...this.entries.keys()].sort()
  }

  private receiptList (): VerifiedReceipt[] {
    const out: VerifiedReceipt[] = []
    for (const e of this.entries.values()) if (e.kind === 'receipt') out.push(e.receipt)
    return out
  }

  evidence (): VerifiedEvidence[] {
    const out: VerifiedEvidence[] = []
    for (const e of this.entries.values()) if (e.kind === 'evidence') out.push(e.evidence)
    return out.sort((a, b) => a.id < b.id ? -1 : 1)
  }

  async receipts (query: ReceiptQuery = {}): Promise<VerifiedReceipt[]> {
    const store = this.store
    if (store == null) throw new LedgerNotStartedError('the ledger is not started')
    const prefix = query.jobId != null
      ? indexPrefix('job', query.jobId)
      : query.worker != null ? indexPrefix('worker', query.worker) : query.requester != null ? indexPrefix('requester', query.requester) : indexPrefix('time')
    const out: VerifiedReceipt[] = []
    for await (const id of store.index(prefix, { since: query.since, until: query.until })) {
      const e = this.entries.get(id)
      if (e?.kind !== 'receipt') continue
      const r = e.receipt
      if (query.worker != null && r.worker !== query.worker) continue
      if (query.requester != null && r.requester !== query.requester) continue
      if (query.since != null && r.finishedAt < query.since) continue
      if (query.until != null && r.finishedAt >= query.until) continue
      out.push(r)
      if (query.limit != null && out.length >= query.limit) break
    }
    return out
  }

  balances (): Balances {
    this.derived ??= {}
    this.derived.balances ??= computeBalances(this.receiptList())
    return this.derived.balances
  }

  earnings (peer: PeerId | string): EarningsReport {
    return computeEarnings(this.receiptList(), peer.toString())
  }

  reputationReport (peer: PeerId | string): ReputationReport {
    return this.records.reputation(peer.toString())
  }

  reputation (peer: PeerId | string): number {
    return this.reputationReport(peer).reputation
  }

  verificationRecord (peer: PeerId | string): VerificationRecord {
    return this.records.verification(peer.toString())
  }

  sampleRate (peer: PeerId | string, policy?: VerificationPolicy): number {
    return verificationRate(this.verificationRecord(peer), policy ?? this.init.verification)
  }

  // ---------------------------------------------------------------- funding

  grants (account?: string): VerifiedGrant[] {
    const out: VerifiedGrant[] = []
    for (const e of this.entries.values()) if (e.kind === 'grant' && (account == null || e.grant.account === account)) out.push(e.grant)
    return out.sort((a, b) => a.id < b.id ? -1 : 1)
  }

  /** The owner account of a peer: from its certificate (this node, admitted peers) or its receipts; '' if none. */
  private ownerOf (peer: string): string {
    if (peer === this.components.peerId.toString()) return this.own?.owner ?? ''
    const cert = this.components.admission.admitted().find(c => c.peerId.toString() === peer)
    if (cert != null) return cert.owner
    return this.funds.ownerOf(peer)
  }

  /** Micro-credits `peer` may spend, less the commitments given (from the funds index: the cost of the account's new entries, not of the whole set). */
  private fundsOf (peer: string, commitments: Iterable<Commitment>): number {
    return this.funds.fundsMicro([peer, this.ownerOf(peer)], Date.now()) - this.funds.openCommitments(commitments)
  }

  spendable (peer: PeerId | string = this.components.peerId): number {
    const key = peer.toString()
    const self = key === this.components.peerId.toString()
    return this.fundsOf(key, self ? this.open.values() : []) / MICRO_PER_CREDIT
  }

  canAfford (peer: PeerId | string, amount: number): boolean {
    return !this.requireFunds || this.spendable(peer) >= amount
  }

  commit (jobId: string, maxCost: number): void {
    if (!(Number.isFinite(maxCost) && maxCost >= 0)) throw new InvalidConfigError(`commitment of ${maxCost} credits for job ${jobId} is not a non-negative number`)
    const self = this.components.peerId.toString()
    const others = [...this.open.values()].filter(c => c.jobId !== jobId)
    const available = this.fundsOf(self, others) / MICRO_PER_CREDIT
    if (this.requireFunds && maxCost > available) throw new InsufficientFundsError(self, maxCost, available, `job ${jobId}`)
    this.open.set(jobId, { jobId, requester: self, maxCost })
  }

  release (jobId: string): void {
    this.open.delete(jobId)
    for (const id of [...this.open.keys()]) if (baseJobId(id) === jobId) this.open.delete(id)
  }

  commitments (): Commitment[] {
    return [...this.open.values()]
  }

  private get requireFunds (): boolean {
    return this.init.requireFunds ?? REQUIRE_FUNDS
  }

  async addGrant (grant: PbGrant | Uint8Array): Promise<VerifiedGrant | undefined> {
    const bytes = grant instanceof Uint8Array ? grant : encodeEntry({ grant })
    const e = await this.add(bytes)
    if (e != null && e.kind !== 'grant') throw new InvalidReceiptError('the entry is not a grant')
    return e?.grant
  }

  async loadGrants (dir?: string): Promise<number> {
    const from = dir ?? this.init.grantsDir ?? (this.init.dir != null ? join(dirname(this.init.dir), GRANTS_DIR) : undefined)
    if (from == null) return 0
    let files: string[]
    try {
      files = (await readdir(from)).filter(f => f.endsWith(GRANT_FILE_SUFFIX)).sort()
    } catch (err: any) {
      if (err?.code === 'ENOENT') return 0
      throw err
    }
    let added = 0
    for (const f of files) {
      try {
        if (await this.addGrant(new Uint8Array(await readFile(join(from, f)))) != null) added++
      } catch (err: any) {
        this.log.error('grant file %s refused - %s', join(from, f), err?.message ?? err)
      }
    }
    if (added > 0) this.log('added %d grant(s) from %s', added, from)
    return added
  }

  // ---------------------------------------------------------------- signing

  async signReceipt (fields: Omit<ReceiptFields, 'worker'>): Promise<PbReceipt> {
    return signWorkerReceipt(this.components.privateKey, this.init.certificate, { ...fields, worker: this.components.peerId })
  }

  async shardReturn (init: ShardReturnInit): Promise<Uint8Array> {
    const { lease } = init
    const finishedAt = init.finishedAt ?? Date.now()
    const receipt = await this.signReceipt({
      jobId: lease.jobId,
      shardIndex: lease.shardIndex,
      replica: lease.replica,
      requester: peerIdFromString(lease.requester),
      modelCid: lease.modelCid,
      inputDigest: init.inputDigest,
      outputDigest: init.outputDigest,
      computeMs: init.computeMs ?? Math.max(0, finishedAt - init.startedAt),
      units: lease.units,
      pricePerUnit: lease.pricePerUnit,
      startedAt: init.startedAt,
      finishedAt,
      leaseId: lease.leaseId
    })
    this.settlements.follow(receipt, lease.jobId, lease.requester)
    return PbShardReturn.encode({ receipt, output: buf(init.output ?? new Uint8Array(0)) })
  }

  followReceipt (receipt: PbReceipt, jobId: string, requester: string): void {
    this.settlements.follow(receipt, jobId, requester)
  }

  async holdSettlement (jobId: string, receipts: PbReceipt[]): Promise<void> {
    if (!this.started) throw new LedgerNotStartedError('the ledger is not started')
    await this.settlements.hold(jobId, receipts)
  }

  async endSettlement (jobId: string, refused?: Array<{ id: string, reason: string }>): Promise<void> {
    await this.settlements.end(jobId, refused)
  }

  pendingSettlements (): PendingSettlementInfo[] {
    return this.settlements.list()
  }

  unsettledReceipts (): Array<{ id: string, jobId: string, requester: string, attempts: number }> {
    return this.settlements.followed()
  }

  async checkWorkerReceipt (receipt: PbReceipt): Promise<VerifiedReceipt> {
    const r = await verifyReceipt(receipt, { certificates: this.certificates })
    if (r.requester !== this.components.peerId.toString()) throw new InvalidReceiptError(`receipt names requester ${r.requester}, not this node`)
    return r
  }

  async countersign (receipt: PbReceipt): Promise<VerifiedReceipt> {
    const run = this.paying.then(async () => this.countersignNow(receipt))
    this.paying = run.catch(() => {})
    return run
  }

  private async countersignNow (receipt: PbReceipt): Promise<VerifiedReceipt> {
    const info = await this.checkWorkerReceipt(receipt)
    const known = this.entries.get(info.id)
    if (known?.kind === 'receipt') return known.receipt
    if (this.requireFunds) {
      const self = this.components.peerId.toString()
      const job = baseJobId(info.jobId)
      // the receipt's own job (and the job it belongs to: micro-batch or re-run) may use what it committed: only the other jobs' commitments are set aside
      const available = this.fundsOf(self, [...this.open.values()].filter(c => c.jobId !== job && c.jobId !== info.jobId))
      const amount = receiptAmount(info)
      if (amount > available) throw new InsufficientFundsError(self, amount / MICRO_PER_CREDIT, available / MICRO_PER_CREDIT, `job ${info.jobId} shard ${info.shardIndex} (worker ${info.worker})`)
    }
    const signed = await countersignReceipt(this.components.privateKey, this.init.certificate, receipt)
    const bytes = encodeEntry({ receipt: signed })
    // durable (sync batch) before it is acknowledged or gossiped
    const e = await this.ingest(bytes, 'local')
    if (e != null) await this.publish(bytes)
    const stored = this.entries.get(toHex(entryId(decodeEntry(bytes))))
    if (stored?.kind !== 'receipt') throw new InvalidReceiptError('countersigned receipt was not stored')
    return stored.receipt
  }

  async reportMismatch (accused: PbReceipt, witnesses: [PbReceipt, PbReceipt]): Promise<VerifiedEvidence> {
    const ev = await createMismatchEvidence(this.components.privateKey, this.components.peerId, this.init.certificate, accused, witnesses)
    return this.report(ev)
  }

  async reportEquivocation (a: PbReceipt, b: PbReceipt): Promise<VerifiedEvidence> {
    const ev = await createEquivocationEvidence(this.components.privateKey, this.components.peerId, this.init.certificate, a, b)
    return this.report(ev)
  }

  private async report (ev: PbEvidence): Promise<VerifiedEvidence> {
    const verified = await verifyEvidence(ev, { certificates: this.certificates })
    await this.add(encodeEntry({ evidence: ev }))
    this.log('evidence %s (%s) against %s', verified.id, verified.kind, verified.accused)
    return verified
  }

  // ---------------------------------------------------------------- reconciliation

  private hooks (): Parameters<typeof initiateSession>[1] {
    // a snapshot: entries that arrive during the session change the live set, not this one
    const ids = this.ids.snapshot()
    return {
      ids,
      getEntry: (id) => this.entries.get(toHex(id))?.bytes,
      putEntry: async (bytes) => { await this.ingest(bytes, 'reconcile') }
    }
  }

  async reconcileWith (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<SessionStats> {
    if (!this.started) throw new LedgerNotStartedError('the ledger is not started')
    const signal = AbortSignal.any([AbortSignal.timeout(this.init.reconcileTimeoutMs ?? RECONCILE_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
    const stream = await this.components.connectionManager.openStream(peer, RECONCILE_PROTOCOL, { signal })
    try {
      const stats = await initiateSession(lpIo(stream, signal), this.hooks(), this.init.reconcile)
      await stream.close({ signal }).catch(() => {})
      this.log('reconciled with %p: %d sent, %d received, %d bytes out, %d in', peer, stats.entriesSent, stats.entriesReceived, stats.bytesSent, stats.bytesReceived)
      this.metrics?.reconcileSessions.increment({ initiator: true })
      this.safeDispatchEvent('reconcile', { detail: { peer: peer.toString(), initiator: true, ...stats } })
      return stats
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private async onReconcileStream (stream: Stream, connection: Connection): Promise<void> {
    if (!this.components.admission.isAdmitted(connection.remotePeer)) {
      stream.abort(new Error('not admitted'))
      return
    }
    const signal = AbortSignal.timeout(this.init.reconcileTimeoutMs ?? RECONCILE_TIMEOUT_MS)
    try {
      const stats = await respondSession(lpIo(stream, signal), this.hooks(), this.init.reconcile)
      await stream.close({ signal }).catch(() => {})
      this.metrics?.reconcileSessions.increment({ responder: true })
      this.safeDispatchEvent('reconcile', { detail: { peer: connection.remotePeer.toString(), initiator: false, ...stats } })
    } catch (err: any) {
      this.log('reconcile stream from %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    }
  }

  /** One anti-entropy round with a random admitted peer; errors are logged. */
  async reconcileRandom (): Promise<SessionStats | undefined> {
    if (!this.started || this.reconciling) return undefined
    const peers = this.components.admission.admitted()
    if (peers.length === 0) return undefined
    const pick = peers[Math.floor(Math.random() * peers.length)] as VerifiedCertificate
    this.reconciling = true
    try {
      return await this.reconcileWith(pick.peerId)
    } catch (err: any) {
      this.log('reconcile with %p failed - %s', pick.peerId, err?.message ?? err)
      return undefined
    } finally {
      this.reconciling = false
    }
  }
}
