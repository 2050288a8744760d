/**
 * @packageDocumentation
 *
 * The fleetmesh ledger: signed work receipts, persisted in the node's data
 * directory, gossiped on `/fleetmesh/1/receipts` and reconciled pairwise by
 * range-based set reconciliation over receipt ids, so every honest node
 * converges on the same set with no chain and no central ledger. Balances,
 * earnings and reputation are pure functions of that set.
 *
 * - A worker's lease handler returns {@link Ledger.shardReturn}: its output
 *   plus a receipt it signed (job, shard, requester, worker, model, input
 *   and output digests, compute time and units, price, times).
 * - The requester settles the job with {@link settleJob}: it checks each
 *   receipt, re-runs a sample of shards on other workers, compares output
 *   digests (quantised, {@link outputDigest}), takes the majority of three
 *   on a mismatch, countersigns the accepted receipts (stored durably, then
 *   gossiped) and gossips signed evidence against a minority worker.
 * - Only countersigned receipts move credits; evidence lowers reputation,
 *   which the market reads through `MarketInit.reputation`.
 *
 * @example
 *
 * ```TypeScript
 * import { createMeshNode } from '@fleetmesh/peer'
 * import { market } from '@fleetmesh/market'
 * import { ledger, settleJob, marketRerun } from '@fleetmesh/ledger'
 *
 * const node = await createMeshNode({ ...init, services: {
 *   ledger: ledger({ certificate, trustedAuthorities, dir: `${dataDir}/ledger` }),
 *   market: market({ certificate, trustedAuthorities, reputation: (id) => node.libp2p.services.ledger.reputation(id) })
 * } })
 * const job = await node.libp2p.services.market.submit(spec)
 * const settled = await settleJob(node.libp2p.services.ledger, job, { sampleRate: 0.1, rerun: marketRerun(node.libp2p.services.market, spec) })
 * console.log(node.libp2p.services.ledger.balances().peers)
 * ```
 */

import { LedgerService } from './ledger.js'
import type { Balances, EarningsReport, ReputationReport } from './balances.js'
import type { VerifiedEntry } from './entry.js'
import type { VerifiedEvidence } from './evidence.js'
import type { ReceiptFields, VerifiedReceipt } from './receipt.js'
import type { ReconcileOptions } from './reconcile.js'
import type { SessionOptions, SessionStats } from './session.js'
import type { PendingSettlementInfo, SettlementOptions, SettlementOutcome } from './settlements.js'
import type { VerificationPolicy, VerificationRecord } from './verification.js'
import type { Commitment } from './funds.js'
import type { VerifiedGrant } from './grant.js'
import type { PbGrant, PbReceipt, VerifiedCertificate } from '@fleetmesh/protocol'
import type { ComponentLogger, Metrics, PeerId, PrivateKey, PublicKey, TypedEventEmitter } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export * from './balances.js'
export * from './certificates.js'
export * from './constants.js'
export * from './digest.js'
export * from './entry.js'
export * from './errors.js'
export * from './evidence.js'
export * from './funds.js'
export * from './funds-index.js'
export * from './grant.js'
export * from './micro-batch.js'
export * from './receipt.js'
export * from './reconcile.js'
export * from './session.js'
export * from './settle.js'
export type { PendingSettlementInfo, SettlementOptions, SettlementOutcome } from './settlements.js'
export * from './verification.js'
export { LevelEntryStore, MemoryEntryStore } from './store.js'
export type { EntryStore } from './store.js'
export { sha256, signingInput, toHex, fromHex } from './signing.js'
export type { ReconcileOptions }

/** Init of {@link ledger}. */
export interface LedgerInit {
  /** this node's device certificate (carried in the receipts it signs) */
  certificate: Uint8Array
  /** fleet authorities whose certificates are accepted in receipts and evidence */
  trustedAuthorities: PublicKey[]
  /** LevelDB directory of the receipt store, e.g. `<dataDir>/ledger`; in memory if omitted */
  dir?: string
  /** interval between anti-entropy rounds with a random admitted peer while the set changes, ms; 0 turns them off @default RECONCILE_INTERVAL_MS (5000) */
  reconcileIntervalMs?: number
  /** longest interval between rounds, ms: a round that found nothing to exchange doubles the interval up to this, a new entry resets it @default RECONCILE_MAX_INTERVAL_MS (60000) */
  reconcileMaxIntervalMs?: number
  /** timeout of one reconciliation session, ms @default RECONCILE_TIMEOUT_MS (30000) */
  reconcileTimeoutMs?: number
  /** range split and id-list threshold, entries per message @default branching 16, id lists at ≤ 12 ids, 2000 entries */
  reconcile?: SessionOptions
  /** weight of a proven mismatch in the reputation formula @default MISMATCH_WEIGHT (10) */
  mismatchWeight?: number
  /** secret seed of this node's shard sampling @default 16 random bytes */
  sampleSeed?: string
  /**
   * refuse a countersignature that would take this node's spendable balance
   * (grants + earned − spent − open commitments) below zero, and (worker)
   * report a requester that cannot pay an offer's maximum cost as unable
   * to afford it (`canAfford`), so the market does not bid
   * @default REQUIRE_FUNDS (true)
   */
  requireFunds?: boolean
  /**
   * directory of grant files (`*.grant`, written by `fleetmesh authority grant`)
   * that `start()` and `loadGrants()` add to the ledger (verified, stored, gossiped)
   * @default `grants` beside `dir` (`<dataDir>/grants` for `<dataDir>/ledger`); none without `dir`
   */
  grantsDir?: string
  /**
   * grants `start()` adds to the ledger (verified, stored, gossiped) before
   * the grants directory: encoded as in a grant file (`fleetmesh authority
   * grant`); a bad one is logged and skipped @default none
   */
  grants?: Uint8Array[]
  /** timings of settlement follow-up (a worker presenting receipts again) @default SETTLE_PRESENT_AFTER_MS, SETTLE_RETRY_MS, SETTLE_MAX_ATTEMPTS, SETTLE_TIMEOUT_MS */
  settlement?: SettlementOptions
  /** adaptive verification policy of `sampleRate()` @default trust after VERIFICATION_TRUST_AFTER (10), floor VERIFICATION_FLOOR_RATE (0.04) */
  verification?: VerificationPolicy
}

/** The gossipsub service as far as the ledger uses it (@libp2p/gossipsub's GossipSub fits). */
export interface LedgerPubSub {
  topicValidators: Map<string, (propagationSource: PeerId, msg: any) => any>
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<unknown>
  addEventListener(type: 'gossipsub:message', listener: (evt: CustomEvent<any>) => void): void
  removeEventListener(type: 'gossipsub:message', listener: (evt: CustomEvent<any>) => void): void
}

/** The admission service as far as the ledger uses it (@fleetmesh/peer's fits). */
export interface LedgerAdmission {
  isAdmitted(peerId: PeerId): boolean
  admitted(): VerifiedCertificate[]
}

/** What the ledger service needs from libp2p. */
export interface LedgerComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  pubsub: LedgerPubSub
  admission: LedgerAdmission
  /** libp2p's metrics; when present the ledger registers its own (see `registerLedgerMetrics`) */
  metrics?: Metrics
}

/** Filter of {@link Ledger.receipts}; one of jobId, worker, requester picks the index. */
export interface ReceiptQuery {
  jobId?: string
  /** worker PeerId string */
  worker?: string
  /** requester PeerId string */
  requester?: string
  /** finish time ≥ since, ms since the epoch */
  since?: number
  /** finish time < until, ms since the epoch */
  until?: number
  limit?: number
}

/** The lease fields a worker receipt needs (the market's `WorkerLease` fits). */
export interface LeaseInfo {
  leaseId: string
  jobId: string
  /** requester PeerId string */
  requester: string
  shardIndex: number
  replica: number
  units: number
  pricePerUnit: number
  modelCid: string
}

/** Input of {@link Ledger.shardReturn}. */
export interface ShardReturnInit {
  lease: LeaseInfo
  /** sha2-256 of the shard's input (32 bytes); the same input must give the same digest on every worker */
  inputDigest: Uint8Array
  /** {@link outputDigest} of the output (32 bytes) */
  outputDigest: Uint8Array
  /** the output bytes the requester receives @default empty */
  output?: Uint8Array
  /** ms since the epoch */
  startedAt: number
  /** ms since the epoch @default Date.now() */
  finishedAt?: number
  /** ms of compute @default finishedAt − startedAt */
  computeMs?: number
}

export interface LedgerEvents {
  /** a new entry was stored */
  entry: CustomEvent<{ id: string, kind: 'receipt' | 'evidence' | 'grant', source: 'local' | 'gossip' | 'reconcile' }>
  /** a reconciliation session ended */
  reconcile: CustomEvent<SessionStats & { peer: string, initiator: boolean }>
  /** a gossiped entry did not verify */
  rejected: CustomEvent<{ code: string, source: 'gossip' }>
  /** worker: a receipt presented again to its requester was countersigned or refused, or the worker gave up on it */
  settlement: CustomEvent<SettlementOutcome>
}

/** The ledger service. */
export interface Ledger extends TypedEventEmitter<LedgerEvents> {
  /** Verifies an encoded ledger entry, stores it durably and gossips it; undefined if already known. @throws verification errors */
  add(bytes: Uint8Array): Promise<VerifiedEntry | undefined>
  /** true if the entry (hex id) is stored */
  has(id: string): boolean
  /** number of stored entries (receipts and evidence) */
  readonly size: number
  /** hex ids of all stored entries, sorted */
  entryIds(): string[]
  /** countersigned receipts by the index `query` names, oldest first for worker/requester/time */
  receipts(query?: ReceiptQuery): Promise<VerifiedReceipt[]>
  /** all stored evidence, sorted by id */
  evidence(): VerifiedEvidence[]
  /** credits per PeerId and owner, a pure function of the set */
  balances(): Balances
  /** earnings of a worker per UTC day */
  earnings(peer: PeerId | string): EarningsReport
  /** reputation 0..1 (1 for a peer with no evidence); plug into `MarketInit.reputation` */
  reputation(peer: PeerId | string): number
  /** reputation with its inputs */
  reputationReport(peer: PeerId | string): ReputationReport
  /** the worker's record of verified results, a pure function of the set (`verificationRecords`) */
  verificationRecord(peer: PeerId | string): VerificationRecord
  /**
   * requester: the share of `peer`'s micro-batches (or shards) to re-run, 0..1 —
   * `verificationRate(verificationRecord(peer), policy)`; pick them with
   * `isSampled(jobId, seq, rate, ledger.sampleSeed)`
   *
   * @param policy - @default LedgerInit.verification
   */
  sampleRate(peer: PeerId | string, policy?: VerificationPolicy): number
  /** credit grants in the set, for one account or all, sorted by id */
  grants(account?: string): VerifiedGrant[]
  /**
   * credits `peer` may spend now: `spendable(entries, [peer, its owner], now, commitments)`;
   * this node's own open commitments count for itself, none for other peers
   *
   * @param peer - @default this node
   */
  spendable(peer?: PeerId | string): number
  /**
   * worker: true if `peer` (a requester) can pay `amount` credits as this node's ledger sees it — call before
   * bidding on its offer (the market does, with the offer's maximum cost); always true without `requireFunds`
   */
  canAfford(peer: PeerId | string, amount: number): boolean
  /**
   * requester: sets `maxCost` credits aside for an open job (call before submitting it);
   * countersignatures for the job (and its `/verify/` re-runs) draw on it
   *
   * @throws InsufficientFundsError if `maxCost` exceeds this node's spendable balance
   */
  commit(jobId: string, maxCost: number): void
  /** requester: ends a job's commitment and those of its verification re-runs (`<jobId>/verify/…`) — settled, failed or cancelled; what it did not spend is free again */
  release(jobId: string): void
  /** this node's open commitments */
  commitments(): Commitment[]
  /** verifies, stores and gossips a grant; undefined if already known @throws InvalidGrantError, InvalidSignatureError */
  addGrant(grant: PbGrant | Uint8Array): Promise<VerifiedGrant | undefined>
  /** adds every `*.grant` file of `dir` (@default LedgerInit.grantsDir); returns how many were new; a bad file is logged and skipped */
  loadGrants(dir?: string): Promise<number>
  /** worker: signs a receipt for work done for `fields.requester` */
  signReceipt(fields: Omit<ReceiptFields, 'worker'>): Promise<PbReceipt>
  /** worker: the bytes a lease handler returns: output plus a signed receipt */
  shardReturn(init: ShardReturnInit): Promise<Uint8Array>
  /** requester: verifies a worker-signed receipt naming this node as requester */
  checkWorkerReceipt(receipt: PbReceipt): Promise<VerifiedReceipt>
  /**
   * requester: verifies, countersigns, stores durably (fsync), then gossips; resolves once durable
   *
   * @throws InsufficientFundsError (with `requireFunds`) if paying it would overdraw this node: its spendable
   * balance plus what the receipt's job still has committed must cover the receipt's amount
   */
  countersign(receipt: PbReceipt): Promise<VerifiedReceipt>
  /**
   * requester: durably records the worker-signed receipts of a job whose
   * results it accepted (a PendingSettlement in the store, fsync'd) — call
   * before the job's outputs are served. A record still there at start is
   * resumed: each receipt countersigned or refused with the reason; a
   * worker presenting one over SETTLE_PROTOCOL meanwhile gets it countersigned.
   *
   * @throws TooManyPendingSettlementsError over MAX_PENDING_SETTLEMENTS jobs or MAX_PENDING_RECEIPTS receipts
   */
  holdSettlement(jobId: string, receipts: PbReceipt[]): Promise<void>
  /** requester: the job is settled: drops its record; `refused` (receipt id, reason) are remembered (bounded, MAX_SETTLE_REFUSALS) and told to a worker that presents one again */
  endSettlement(jobId: string, refused?: Array<{ id: string, reason: string }>): Promise<void>
  /** requester: jobs whose settlement is recorded and not ended */
  pendingSettlements(): PendingSettlementInfo[]
  /**
   * worker: follows a receipt it signed (as `shardReturn` does for a lease's): not seen
   * countersigned SETTLE_PRESENT_AFTER_MS after signing, it is presented again to its requester
   * until countersigned or refused (bounded: MAX_UNSETTLED_RECEIPTS, SETTLE_MAX_ATTEMPTS)
   *
   * @param jobId - the receipt's job id
   * @param requester - the requester's PeerId string
   */
  followReceipt(receipt: PbReceipt, jobId: string, requester: string): void
  /** worker: receipts it signed (`shardReturn`, `followReceipt`) and has not seen countersigned or refused yet */
  unsettledReceipts(): Array<{ id: string, jobId: string, requester: string, attempts: number }>
  /** requester: signs, stores and gossips evidence that `accused` disagrees with two witnesses */
  reportMismatch(accused: PbReceipt, witnesses: [PbReceipt, PbReceipt]): Promise<VerifiedEvidence>
  /** signs, stores and gossips evidence that one worker signed two receipts for one shard */
  reportEquivocation(a: PbReceipt, b: PbReceipt): Promise<VerifiedEvidence>
  /** one reconciliation session with `peer` as initiator */
  reconcileWith(peer: PeerId, options?: { signal?: AbortSignal }): Promise<SessionStats>
  /** one anti-entropy round with a random admitted peer (what the timer runs) */
  reconcileRandom(): Promise<SessionStats | undefined>
  /** secret seed of this node's sampling */
  readonly sampleSeed: string
}

/**
 * The ledger service factory, in libp2p's service shape:
 * `createMeshNode({ services: { ledger: ledger(init) } })`. Needs the
 * `pubsub` (gossipsub) and `admission` services.
 *
 * @throws InvalidConfigError at start if this node's certificate is invalid
 */
export function ledger (init: LedgerInit): (components: LedgerComponents) => Ledger {
  return (components) => new LedgerService(components, init)
}
