/**
 * Defaults of the ledger. Each one is the `@default` of a {@link LedgerInit}
 * field (or of an option of a pure function) and is documented there.
 */

/** Signature domain of a worker's receipt signature (libp2p RFC 0002 signing input). */
export const RECEIPT_WORKER_DOMAIN = 'fleetmesh-receipt-worker'

/** Signature domain of a requester's countersignature. */
export const RECEIPT_REQUESTER_DOMAIN = 'fleetmesh-receipt-requester'

/** Signature domain of an evidence record's reporter signature. */
export const EVIDENCE_DOMAIN = 'fleetmesh-evidence'

/** Signature domain of a fleet authority's credit grant. */
export const GRANT_DOMAIN = 'fleetmesh-grant'

/** Payload type bytes signed with a grant body. */
export const GRANT_PAYLOAD_TYPE = new TextEncoder().encode('/fleetmesh/grant/1')

/** Payload type bytes signed with a receipt body. */
export const RECEIPT_PAYLOAD_TYPE = new TextEncoder().encode('/fleetmesh/receipt/1')

/** Payload type bytes signed with an evidence body. */
export const EVIDENCE_PAYLOAD_TYPE = new TextEncoder().encode('/fleetmesh/evidence/1')

/** Bytes of a receipt or evidence id (sha2-256). */
export const ID_BYTES = 32

/** Bytes of a range fingerprint (sha2-256 of the range's id sum and count, truncated). */
export const FINGERPRINT_BYTES = 16

/**
 * Sub-ranges a differing range is split into. 16 keeps the number of
 * rounds at log16(n) (5 for 1M receipts) while each split costs ~16
 * fingerprints (~25 bytes each).
 *
 * @default 16
 */
export const RECONCILE_BRANCHING = 16

/**
 * A differing range with at most this many ids is sent as an id list
 * (32 bytes per id) instead of being split further.
 *
 * @default 12
 */
export const RECONCILE_ID_LIST_THRESHOLD = 12

/** Interval between anti-entropy rounds with a random admitted peer, ms, while the set changes. @default 5000 */
export const RECONCILE_INTERVAL_MS = 5000

/**
 * Longest interval between anti-entropy rounds, ms. A round that found
 * both sets equal doubles the interval (5, 10, 20, 40, 60 s) up to this;
 * a new entry (gossiped, made here, or reconciled) brings it back to
 * RECONCILE_INTERVAL_MS. An idle fleet's rounds were each node's largest
 * periodic cost after gossipsub's heartbeat, all of it finding nothing:
 * vehicles connect mostly to stations, so a station answered ~2 rounds a
 * second (bench/scale, 100 nodes, CPU profile of the idle window). A
 * node that missed a gossiped entry is still repaired within
 * RECONCILE_INTERVAL_MS of it by the peers that got it, whose rounds the
 * entry sped up again. @default 60000
 */
export const RECONCILE_MAX_INTERVAL_MS = 60_000

/** Timeout of one reconciliation session, ms. @default 30000 */
export const RECONCILE_TIMEOUT_MS = 30_000

/** Most ledger entries pushed in one reconciliation message (the rest follow in the next). @default 2000 */
export const RECONCILE_ENTRIES_PER_MESSAGE = 2000

/** Inbound + outbound reconciliation streams at once. @default 4 */
export const MAX_RECONCILE_STREAMS = 4

/**
 * Quantisation grid of output digests: float outputs are rounded to
 * multiples of this before hashing, so honest float noise (different
 * kernels, thread counts) gives the same digest.
 *
 * @default 1e-3
 */
export const OUTPUT_TOLERANCE = 1e-3

/** Share of shards a requester re-runs on a second worker, 0..1. @default 0.05 */
export const SAMPLE_RATE = 0.05

/**
 * Weight of one proven output mismatch against one countersigned receipt
 * in the reputation formula (see `reputationOf`).
 *
 * @default 10
 */
export const MISMATCH_WEIGHT = 10

/** Micro-credits per credit: balances are summed as integers of micro-credits so the sum does not depend on order. */
export const MICRO_PER_CREDIT = 1_000_000

/** Verified certificates kept in the verification cache. @default 4096 */
export const CERTIFICATE_CACHE_SIZE = 4096

/**
 * Consecutive verified results before a worker is trusted and its sample
 * rate starts to fall (BOINC's adaptive replication trusts a host after 10
 * consecutive valid results).
 *
 * @default 10
 */
export const VERIFICATION_TRUST_AFTER = 10

/** Share of results re-run for a worker that is not (or no longer) trusted, 0..1. @default 1 */
export const VERIFICATION_UNTRUSTED_RATE = 1

/**
 * Lowest share of results re-run for a long-trusted worker, 0..1. 0.04
 * keeps the extra compute of honest trusted workers at 4 % (goal ≤ 5 %)
 * while a trusted worker cheating on 10 % of 64 micro-batches per job
 * escapes 20 jobs with chance 0.96^128 ≈ 0.5 %.
 *
 * @default 0.04
 */
export const VERIFICATION_FLOOR_RATE = 0.04

/** Factor on the trust threshold per past mismatch (at most 4 counted). @default 2 */
export const VERIFICATION_MISMATCH_PENALTY = 2

/**
 * Differing ranges, of the initiator's first `branching` (16), from which
 * the responder answers with rateless IBLT coded symbols instead of
 * splitting ranges: 8 of 16 differ once the sets differ by about 10 ids.
 *
 * @default 8
 */
export const RECONCILE_SYMBOLS_SWITCH = 8

/** Coded symbols in the first window of a symbol session. @default 128 */
export const RECONCILE_SYMBOLS_FIRST = 128

/** Factor from one window's total of coded symbols to the next (rateless: more symbols of the same sequence). @default 1.5 */
export const RECONCILE_SYMBOLS_GROWTH = 1.5

/** Most coded symbols in one message (44 bytes each, under the 4 MiB message limit). @default 65536 */
export const RECONCILE_SYMBOLS_PER_MESSAGE = 65536

/** Received reconciliation entries verified and stored at once (signature checks run in libuv's thread pool). @default 64 */
export const RECONCILE_VERIFY_CONCURRENCY = 64

/**
 * A requester's ledger refuses countersignatures it cannot pay for (grants
 * + earned − spent − open commitments), and a worker's does not bid for a
 * requester that cannot pay an offer's maximum cost: a node with no grant
 * from a fleet authority (and no earnings) cannot spend. Turn it off with
 * `LedgerInit.requireFunds: false` (a fleet that does not account credits).
 * @default true
 */
export const REQUIRE_FUNDS = true

/** Name of the grants directory beside the ledger's store directory. @default 'grants' */
export const GRANTS_DIR = 'grants'

/** File name ending of a grant file. @default '.grant' */
export const GRANT_FILE_SUFFIX = '.grant'

/** Jobs whose settlement a requester keeps recorded at once (`holdSettlement`); one more is refused. @default 1024 */
export const MAX_PENDING_SETTLEMENTS = 1024

/** Receipts of one pending settlement, at most (a job's leases). @default 4096 */
export const MAX_PENDING_RECEIPTS = 4096

/** Refusals a requester remembers (receipt id → reason) for workers that present a refused receipt again; the oldest is forgotten first. @default 4096 */
export const MAX_SETTLE_REFUSALS = 4096

/** Receipts a worker signed and follows until they are countersigned or refused; the oldest is dropped first. @default 4096 */
export const MAX_UNSETTLED_RECEIPTS = 4096

/** A worker presents a receipt again (SETTLE_PROTOCOL) once it has not seen it countersigned for this long after signing it, ms. @default 10000 */
export const SETTLE_PRESENT_AFTER_MS = 10_000

/** Wait before presenting a receipt again after a `PENDING` answer or an unreachable requester, ms; doubles each time up to 8×. @default 5000 */
export const SETTLE_RETRY_MS = 5000

/** Presentations of one receipt before the worker gives up on it. @default 12 */
export const SETTLE_MAX_ATTEMPTS = 12

/** Timeout of one presentation over SETTLE_PROTOCOL, ms. @default 10000 */
export const SETTLE_TIMEOUT_MS = 10_000

/** Concurrent SETTLE_PROTOCOL streams per connection, each way. @default 4 */
export const MAX_SETTLE_STREAMS = 4

/**
 * Account sets (a device and its owner) whose funding walk the ledger
 * keeps between funds checks (FundsIndex), least recently asked first out.
 * A worker asks about every requester whose offers it sees, so remote
 * peers choose how many there are; a walk costs a few hundred bytes, and
 * one evicted is recounted from the account's own receipts at its next
 * check.
 */
export const MAX_FUNDS_WALKS = 1024
