/** Most micro-batches one data-parallel worker holds at once (its window starts at 1 and grows while it is starved, see `Pace`). */
export const MAX_IN_FLIGHT = 4

/** A worker whose results arrive further apart than this × its compute time is starved: its window grows. */
export const STARVED_FACTOR = 1.5

/** Samples of send-to-result and compute time kept per worker. */
export const PACE_SAMPLES = 16

/**
 * A data-parallel micro-batch outstanding longer than this × its worker's
 * median send-to-result time is also sent to an idle worker once the queue
 * is empty (backup tasks, as in MapReduce): the first result wins.
 */
export const STRAGGLER_FACTOR = 3

/** Backups never start before a micro-batch has been out this long, ms. */
export const STRAGGLER_MIN_MS = 200

/** How often the requester looks for late micro-batches, ms. */
export const STRAGGLER_CHECK_MS = 100

/** Peers of a job's region a requester in another region connects to before offering, so the offer's gossip reaches the region. */
export const REACH_REGION_PEERS = 3

/** How long a requester looks for and connects to peers of another region before offering, ms. */
export const REACH_REGION_TIMEOUT_MS = 5000

/** Opening an infer stream to a worker (dial + protocol negotiation), ms. */
export const OPEN_STREAM_TIMEOUT_MS = 10_000

/**
 * How long an infer stream the worker answered with an error is left for
 * its remote to close, ms, before the worker resets it. What the remote
 * sent ahead (a data payload before its open) is dropped at once: a peer
 * that never closes its side held the stream, and up to a yamux window
 * of its bytes, for as long as it liked (bench/adversary's data-before-open
 * flood: 64 streams of 1 MiB each, the target's RSS up by 112 MiB).
 */
export const ERROR_STREAM_LINGER_MS = 1000

/**
 * How long a session stage whose lease ends early (drained, handed back,
 * freed) takes at most to send its error frame with the receipt for the
 * steps it ran, and to close its control stream, ms: the lease handler
 * settles after it, and the market's Release waits for that (the
 * market's RELEASE_FLUSH_MS, 2000 ms), so the requester reads the receipt
 * before it drops the stage. One heartbeat interval.
 */
export const HAND_BACK_FLUSH_MS = 1000

/**
 * How long a requester keeps reading the control stream of a session
 * stage it lost (released, drained, its stream failed) for the receipt the
 * worker hands back with the lease's end, ms, before it resets the stream:
 * two HAND_BACK_FLUSH_MS, as the Release and the receipt frame travel on
 * different streams.
 */
export const HAND_BACK_LINGER_MS = 2000

/**
 * Infer streams one connection may hold open at once, each way. A worker
 * holds at most MAX_CONCURRENT_LEASES (4) leases and MAX_SESSIONS_PER_WORKER
 * (4) sessions, each with a control stream and a feed stream or two: 32 is
 * twice that. It also bounds what a peer can have waiting on infer
 * streams before the worker has read a frame: this many stream read
 * buffers (a yamux stream grants more window as soon as data arrives, so
 * an unread stream holds up to its 4 MiB read buffer, not one window),
 * per connection, of at most MAX_CONNECTIONS_PER_PEER (@fleetmesh/peer)
 * connections; at 64 the data-before-open flood kept ~64 MiB of payloads
 * in flight at the target (MALFORMED_INFER_STREAM_BUDGET now cuts it).
 */
export const MAX_INFER_STREAMS = 32

/**
 * Malformed infer streams one connection may open (`InferChannel.malformed`:
 * a first frame that is not `open`, a frame header over its limit or one
 * that does not decode; no honest peer sends one): `burst` at once,
 * refilled at `perSecond`. Past it the peer is refused for
 * MALFORMED_INFER_BACKOFF_MS (its connections closed). Each such stream
 * may carry what the remote sent ahead of the worker's first read, up to
 * a yamux read buffer (4 MiB), and the worker must receive and decrypt it
 * to drop it: bench/adversary's data-before-open flood (1 MiB after a data
 * header, 64 streams at a time) grew the target's RSS by 56 to 90 MiB
 * with the attacker's CPU, all of it transient buffers (the live heap
 * after a collection grew by 2.6 MiB).
 */
export const MALFORMED_INFER_STREAM_BUDGET = { perSecond: 0.1, burst: 4 }

/** How long a peer that opened more malformed infer streams than MALFORMED_INFER_STREAM_BUDGET is refused, ms. */
export const MALFORMED_INFER_BACKOFF_MS = 10_000

/** The first frame of an infer stream must arrive within this, ms. */
export const FIRST_FRAME_TIMEOUT_MS = 2000

/**
 * A requester's infer stream for a lease the market has not yet handed to
 * this worker waits at most this long for it (the Accept and the stream
 * race each other), ms.
 */
export const LEASE_WAIT_MS = 2000

/** A stage's feed stream waits at most this long for the requester to configure that stage, ms. */
export const FEED_WAIT_MS = 10_000

/** Incomplete micro-batches a pipeline stage holds while waiting for their other part. */
export const MAX_PENDING_JOIN = 1024

/** Runner processes of a worker @default for `InferenceInit.runners`. */
export const DEFAULT_RUNNERS = 1

/** Time one micro-batch may run on a runner, ms. */
export const RUN_TIMEOUT_MS = 60_000

/** Recoverable worker errors (re-awarded shards) a job absorbs before it fails with the last one. */
export const MAX_LEASE_FAILURES = 3

/** A runner that crashed or timed out costs its micro-batch one more try, at most this many times per micro-batch. */
export const MAX_MICRO_BATCH_RETRIES = 2

/** A pipeline stage must answer `ready` (model fetched and loaded, next stage open) within this, ms. */
export const STAGE_READY_TIMEOUT_MS = 120_000

/** After a pipeline build failed for want of connected workers, try again after this, ms. */
export const REBUILD_DELAY_MS = 500

/** Writes smaller than this are joined before they reach the stream, so noise seals large frames (node:crypto's path, over 1.2 kB), bytes. */
export const COALESCE_BYTES = 64 * 1024

/** Largest infer frame header (the message without its tensor bytes), bytes. */
export const MAX_INFER_HEADER_BYTES = 64 * 1024

/**
 * Micro-batches a pipeline holds beyond one per stage: one waiting at each
 * hop hides the transfer behind the next compute (GPipe keeps every stage
 * busy this way) without queues growing at a slow stage.
 */
export const PIPELINE_EXTRA_CREDITS = 2

/** Stateful sessions one worker serves at once (each keeps its state in memory) @default for `InferenceInit.maxSessions`. */
export const MAX_SESSIONS_PER_WORKER = 4

/** Largest state one session stage keeps on a worker, bytes (a KV cache grows every step) @default for `InferenceInit.maxSessionStateBytes`. */
export const MAX_SESSION_STATE_BYTES = 256 * 1024 * 1024

/** A worker frees a session stage that received no step for this long, ms @default for `InferenceInit.sessionIdleTimeoutMs`. */
export const SESSION_IDLE_TIMEOUT_MS = 5 * 60_000

/** A session's life when `SessionInit.deadline` is not given, ms (the market bounds it by MAX_JOB_DEADLINE_MS, 1 h). */
export const SESSION_DEADLINE_MS = 30 * 60_000

/** Lost workers (connection gone, handed back, a worker error another worker may not hit) and rebuilds (a broken feed between stages) a session recovers from before it fails. */
export const MAX_SESSION_RECOVERIES = 8

/**
 * Most steps the requester keeps in a session's replay log (the step
 * inputs since the last complete snapshot, replayed onto a replacement
 * worker) @default for `SessionInit.maxReplaySteps`. Once the log holds
 * half of it, the next step asks every stage for a snapshot (and again
 * every quarter of it while none completes); a complete snapshot restarts
 * the log. A step that finds the log full fails with
 * `ERR_SESSION_REPLAY_LIMIT`. 512 steps of a decoder's one token each.
 */
export const MAX_SESSION_REPLAY_STEPS = 512

/** Most bytes of step inputs in a session's replay log, as {@link MAX_SESSION_REPLAY_STEPS} counts steps @default for `SessionInit.maxReplayBytes`. */
export const MAX_SESSION_REPLAY_BYTES = 64 * 1024 * 1024

/**
 * Most steps of a session when `SessionInit.maxSteps` is not given: each
 * stage is offered this many compute units (a unit is one step of one
 * stage; receipts count the steps served), so the session's maximum cost,
 * `stages × maxSteps × maxPrice` credits, is committed at its first award
 * as a job's is and freed when it closes or fails. 1024 tokens of a
 * decoder.
 */
export const MAX_SESSION_STEPS = 1024

/** close() waits at most this long for every stage to finish and return its receipt, ms; then the session's market job ends without them. */
export const SESSION_CLOSE_TIMEOUT_MS = 15_000

/** How long a pipeline spot check waits for a checker's ready and results, ms. */
export const PIPELINE_CHECK_TIMEOUT_MS = 120_000

/**
 * A pipeline job without a set micro-batch size first sends this many
 * items alone (micro-batch 0): its per-stage compute and trip time size
 * the rest. One item costs the least pipeline fill.
 */
export const PIPELINE_PROBE_ITEMS = 1
