/**
 * Defaults of the test helpers. The numbers are sized for a loaded two-core
 * CI machine running several test processes at once: generous waits, no
 * tight polling.
 */

/** How long {@link waitUntil} waits when no `timeoutMs` is given, ms. */
export const WAIT_TIMEOUT_MS = 10_000

/** How often {@link waitUntil} evaluates its predicate when no `intervalMs` is given, ms. */
export const WAIT_INTERVAL_MS = 25

/**
 * Second octet of the first per-process block of loopback hosts: blocks
 * are `127.<FIRST>.0.0/16` upwards, clear of the fixed `127.0.x.y` and
 * `127.1.x.y`–`127.3.x.y` hosts that benchmarks and dashboards pick.
 */
export const LOOPBACK_FIRST_BLOCK = 16

/** How many `/16` blocks of loopback hosts processes are spread over (by process id). */
export const LOOPBACK_BLOCKS = 200

/** Hosts one process can take from its `/16` block before it wraps: 256 × 254 (last octets 1..254). */
export const LOOPBACK_HOSTS_PER_BLOCK = 256 * 254

/**
 * Source address of every outbound TCP dial on Linux loopback, whatever
 * address the dialler listens on: the one IP that gossipsub's
 * IP-colocation penalty must not count in a test mesh.
 */
export const LOOPBACK_SOURCE_IP = '127.0.0.1'

/** Validity of a certificate issued for a test identity, ms (one hour: longer than any test). */
export const TEST_CERTIFICATE_VALID_MS = 3600_000

/** How long a forked node may take to report `{ type: 'ready' }`, ms. */
export const FORK_READY_TIMEOUT_MS = 20_000

/** How long a killed child process may take to exit before it is given up on, ms. */
export const KILL_WAIT_MS = 5000

/** Wait after every node is admitted, so gossipsub's topic meshes (1 s heartbeat) include every worker before the first offer, ms. */
export const GOSSIP_SETTLE_MS = 2000

/** How long a daemon of a local fleet may take to start and find its peers, ms. */
export const FLEET_READY_TIMEOUT_MS = 60_000

/** Validity of a local fleet's certificates, ms (a day: a testnet may be kept running). */
export const FLEET_CERTIFICATE_VALID_MS = 24 * 3600_000

/** How long a daemon has to drain and exit after SIGTERM before it is SIGKILLed, ms. */
export const FLEET_STOP_TIMEOUT_MS = 15_000

/** How long a CLI run may take by default before {@link runCli} kills it, ms. */
export const CLI_TIMEOUT_MS = 60_000

/** Credits of the grant a test fleet's authority gives each of its devices (test meshes, forked nodes, daemons of a local fleet): more than any test spends. */
export const TEST_GRANT_CREDITS = 1_000_000
