/**
 * Defaults of the runtime: runner calls, the tensor exchange between the
 * node and its runners, and the partitioner.
 */
import { MAX_TENSOR_BYTES } from '@fleetmesh/protocol'

/** Time one runner call may take before its runner is killed and replaced, ms. */
export const DEFAULT_RUN_TIMEOUT_MS = 60_000

/**
 * How long `Runtime.stop()` waits for an idle runner to exit by itself
 * once asked (it exits within milliseconds: it has nothing to finish)
 * before killing it, ms.
 */
export const RUNNER_STOP_GRACE_MS = 1000

/**
 * Most bytes the outputs of one call may hold together, checked in the
 * runner before any output crosses to the node: protocol's
 * MAX_TENSOR_BYTES (64 MiB), the largest tensor a frame carries, so an
 * output the node could not send on is refused before it costs the node
 * any memory.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = MAX_TENSOR_BYTES

/**
 * Tensor bytes of one message up to which the node reads and writes its
 * exchange files synchronously (tmpfs: a memory copy, ~2 ms for 16 MiB
 * here, less than the thread-pool round trip of async I/O costs a small
 * tensor); larger messages use async I/O so the event loop is never held
 * longer. Runners always use synchronous I/O (they serve one call at a
 * time).
 */
export const EXCHANGE_SYNC_MAX_BYTES = 16 * 1024 * 1024

/**
 * Bytes an exchange file keeps allocated between calls. Calls up to this
 * size overwrite the same tmpfs pages (no fresh pages to fault in); after
 * a larger call the reader truncates the file back to this size, so one
 * large call does not keep its pages of `/dev/shm` until the runner is
 * replaced. 16 MiB holds a PP-OCR rec batch of 8 (8.5 MB of output).
 */
export const EXCHANGE_RETAIN_BYTES = 16 * 1024 * 1024

/**
 * States a runner keeps between stateful calls (`RunOptions.state`, one per
 * session stage), least recently used dropped first: a session stage's
 * worker serves at most MAX_SESSIONS_PER_WORKER (4) of them, each with at
 * most one live configuration, so this is room to spare.
 */
export const MAX_RUNNER_STATES = 64

/**
 * How far over the best achievable bottleneck stage cost (a fraction of it)
 * a cut may go to send fewer bytes across the cuts: 0.15 trades up to 15 %
 * of balance for less traffic, the range pipeline planners such as
 * PipeDream's partitioner accept.
 */
export const DEFAULT_PARTITION_SLACK = 0.15

/**
 * Size given to every symbolic dim of the sample the partitioner makes
 * from a stateful model's declared inputs when no `sampleInputs` are given
 * (a sequence of 2 tokens, a KV cache of 2 past positions); the measuring
 * runs resize it to 4 to find the symbolic dims of the stages.
 */
export const DECLARED_SAMPLE_DIM = 2
