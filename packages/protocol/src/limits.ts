/**
 * Decode limits: every message from the network is size-checked against
 * these before it is parsed, so a peer cannot make a node allocate without
 * bound. Values are chosen far above the largest honest message of each
 * kind, and low enough that a flood costs the sender more than the node.
 */

/** Largest encoded device certificate envelope, bytes (an honest one is ~250). */
export const MAX_CERTIFICATE_BYTES = 2048

/** Largest admission frame (`AdmissionHello`/`AdmissionResult`), bytes. */
export const MAX_ADMISSION_MESSAGE_BYTES = 4096

/** Largest generic signed envelope accepted by `openEnvelope`, bytes. */
export const MAX_ENVELOPE_BYTES = 64 * 1024

/**
 * Largest gossipsub RPC frame accepted from a peer, bytes. Gossip carries
 * offers, bids and receipts (a few hundred bytes each) in batches; 1 MiB is
 * gossipsub's own default ceiling for a message.
 */
export const MAX_GOSSIP_RPC_BYTES = 1024 * 1024

/** Largest single gossip message payload, bytes. */
export const MAX_GOSSIP_MESSAGE_BYTES = 64 * 1024

/** Longest region (geohash prefix) in characters; 12 is geohash's full precision (~3.7 cm). */
export const MAX_REGION_LENGTH = 12

/** Longest owner id in a certificate, characters. */
export const MAX_OWNER_LENGTH = 128

/** Longest jurisdiction in a certificate (`eu`, `us`, `de-by`), characters. */
export const MAX_JURISDICTION_LENGTH = 32

/**
 * Largest signed revocation list, bytes: it travels as one gossip message
 * (MAX_GOSSIP_MESSAGE_BYTES, 64 KiB) with room for the envelope; a PeerId
 * entry is ~50 bytes, so ~1000 entries fit.
 */
export const MAX_REVOCATION_LIST_BYTES = 60 * 1024

/** Most entries in one revocation list. */
export const MAX_REVOCATION_ENTRIES = 1000

/** Longest reason text of a revocation entry, characters. */
export const MAX_REVOCATION_REASON_LENGTH = 128

/**
 * Largest tensor (and tensor list) accepted from the network, bytes.
 * 64 MiB holds a batch of 64 PP-OCRv4 rec inputs (64 x 3 x 48 x 320 float32
 * = 11.8 MB) or one det input at 2048 x 2048 (50 MB); bigger batches are
 * split into shards first.
 */
export const MAX_TENSOR_BYTES = 64 * 1024 * 1024

/** Largest gossiped job offer (signed envelope), bytes: header + certificate ~450, plus ~3 bytes per shard. */
export const MAX_OFFER_BYTES = 16 * 1024

/** Largest gossiped bid (signed envelope), bytes; an honest one is ~500. */
export const MAX_BID_BYTES = 2048

/**
 * Most multiaddrs a bid carries (`Bid.addrs`), and the longest one, bytes:
 * a node announces one or two TCP addresses (8 bytes each in binary) and a
 * circuit address per relay reservation (~50 bytes).
 */
export const MAX_BID_ADDRS = 8
export const MAX_BID_ADDR_BYTES = 128

/** Largest market message on the direct stream (`Award` … `Complete`), bytes; a `Complete` carries the handler's result. */
export const MAX_MARKET_DIRECT_BYTES = 1024 * 1024

/** Largest `NoBid` (signed envelope, header and certificate included), bytes; an honest one is ~700. */
export const MAX_NO_BID_BYTES = 2048

/** Most model inputs an offer lists (`JobOffer.inputs`); ONNX models of the field take 1–4, a pipeline stage a few more. */
export const MAX_OFFER_INPUTS = 64

/** Most dimensions of one offer input's shape; ONNX tensors of real models have at most 6. */
export const MAX_OFFER_INPUT_RANK = 16

/** Most shards (or pipeline stages) in one job offer. */
export const MAX_SHARDS = 1024

/** Most lease ids in one heartbeat. */
export const MAX_HEARTBEAT_LEASES = 4096

/** Longest a market message may live (expiresAt - issuedAt), ms: bounds the replay window. */
export const MAX_MARKET_MESSAGE_TTL_MS = 10 * 60 * 1000

/**
 * Latest deadline a job offer may name, ms after the offer is checked:
 * fleet-wide, so no lease can be asked to live longer. One hour covers the
 * longest batch jobs of the field (an OCR pass over a day of a vehicle's
 * frames) and bounds every table keyed by a job.
 */
export const MAX_JOB_DEADLINE_MS = 60 * 60 * 1000

/**
 * Clock skew tolerated between peers, ms: a market message, a certificate
 * (`notBefore`/`issuedAt`) or a revocation list dated further in the future
 * is refused. 30 s covers vehicles whose clocks follow cellular network
 * time, which keeps within a few seconds of UTC.
 */
export const MAX_CLOCK_SKEW_MS = 30_000

/** Longest job id, model CID, lease id or reason text in a market message, characters. */
export const MAX_MARKET_STRING_LENGTH = 256

/**
 * Bytes of raw model data per stream write on /fleetmesh/model/1.1.0 (pieces
 * read from the stored file, sent as they are): at least 64 KiB, so every noise frame
 * (at most 65,535 bytes) is full and takes node:crypto's path (noise uses it
 * for frames over 1.2 kB), and a few per yamux window.
 */
export const MODEL_WRITE_BYTES = 1024 * 1024

/** Largest length-prefixed ModelRequest or ModelHeader on /fleetmesh/model/1.1.0, bytes (a CID is ~60 characters). */
export const MAX_MODEL_HEADER_BYTES = 1024

/** Largest model a node fetches or serves by default, bytes. */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024

/** Largest encoded work receipt (body, two signatures, two certificates), bytes; an honest one is ~800. */
export const MAX_RECEIPT_BYTES = 4096

/** Largest encoded ledger entry (a receipt, or evidence holding up to three receipts), bytes. */
export const MAX_LEDGER_ENTRY_BYTES = 16 * 1024

/** Largest message on /fleetmesh/reconcile/2.0.0, bytes. */
export const MAX_RECONCILE_MESSAGE_BYTES = 4 * 1024 * 1024

/** Most ranges in one reconciliation message (a range is ≥ 3 bytes; 2000 differences among 100k ids need ~26k). */
export const MAX_RECONCILE_RANGES = 131072

/** Most rateless IBLT coded symbols one reconciliation session decodes (44 bytes each; ~1.85 per difference). */
export const MAX_RECONCILE_SYMBOLS = 1 << 20

/** Largest encoded settle request or response (a receipt plus a reason), bytes. */
export const MAX_SETTLE_MESSAGE_BYTES = 8192

/** Most messages one side sends in one reconciliation session. */
export const MAX_RECONCILE_ROUNDS = 64
