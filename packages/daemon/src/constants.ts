/**
 * Defaults and fixed values of the daemon and the CLI. Where a value comes
 * from is stated beside it.
 */

/** Exit code: the command did what it was asked. */
export const EXIT_OK = 0
/** Exit code: a runtime failure (a job failed or could not be placed, the daemon is not running, a network error). */
export const EXIT_FAILURE = 1
/** Exit code: bad usage or config (unknown command or flag, a bad flag value, a bad config key); fix the command line or the config. */
export const EXIT_USAGE = 2

/** How often a daemon started by npm checks that its npm parent still lives, ms (npm does not always pass signals on). */
export const PARENT_CHECK_INTERVAL_MS = 1000

/** How often the file state source also stats its file, in case a file system event was missed, ms. */
export const STATE_FILE_POLL_MS = 1000

/** Largest vehicle state report read (file or request body), bytes; a report is a small JSON object. */
export const MAX_STATE_REPORT_BYTES = 4096

/** How often the daemon measures each directly connected peer's RTT again, ms (the peer table measures a peer once, at discovery). */
export const RTT_REFRESH_MS = 30_000

/** How long one RTT ping may take before the last value is kept, ms. */
export const RTT_PING_TIMEOUT_MS = 5000

/** How often the dashboard's time series takes a sample, ms (an hour is 360 samples). */
export const SERIES_SAMPLE_MS = 10_000

/** How much time series history the daemon keeps for the dashboard, ms (the last hour). */
export const SERIES_WINDOW_MS = 3_600_000

/** Ended worker leases the daemon remembers for `GET /api/v1/leases` (the newest). */
export const MAX_ENDED_LEASES = 50

/** Forgotten job ids remembered so that `GET /api/v1/jobs?since=` can tell a dashboard to drop them. */
export const MAX_FORGOTTEN_JOBS = 200

/** Sessions one daemon keeps open at once (each holds one lease per stage and its recorded steps); the API answers 429 beyond. */
export const MAX_OPEN_SESSIONS = 16

/** Closed sessions the daemon remembers for `GET /api/v1/sessions` (the newest). */
export const MAX_CLOSED_SESSIONS = 50

/** Progress events kept per session (the newest). */
export const MAX_SESSION_EVENTS = 50

/** Step latencies kept per session for its median, ms each. */
export const SESSION_STEP_SAMPLES = 256

/** `fleetmesh generate --max-price` when not given: most credits per compute unit (one step of one stage), twice a worker's default idle asking price (a loaded worker asks more). */
export const DEFAULT_SESSION_MAX_PRICE = 2
