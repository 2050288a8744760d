/**
 * @packageDocumentation
 *
 * The fleetmesh daemon: runs a mesh node from a validated config, serves a
 * local HTTP API (bearer token), Prometheus metrics and a dashboard, and
 * the `fleetmesh` CLI that talks to it.
 *
 * @example
 *
 * ```TypeScript
 * import { loadConfig, startDaemon, ApiClient } from '@fleetmesh/daemon'
 *
 * const config = loadConfig({ file: '/var/lib/fleetmesh/config.json' })
 * const daemon = await startDaemon(config)
 * const client = new ApiClient({ url: daemon.url, token: daemon.token })
 * console.log(await client.info())
 * await daemon.stop()
 * ```
 */
export { loadConfig, configSchema, configReference, envName, CONFIG_KEYS, LOG_LEVELS, DEFAULT_MAX_MODEL_BYTES } from './config.js'
export type { DaemonConfig, AvailabilityConfig, ConfigKeySpec, ConfigKind, LoadConfigInit, LogLevel, RawConfig } from './config.js'
export { startDaemon, loadAuthorities, consoleLog, VERSION, DRAIN_TIMEOUT_MS, NODE_STOP_TIMEOUT_MS } from './daemon.js'
export type { Daemon, StartDaemonOptions } from './daemon.js'
export { createApi, jsonSafe, HttpError, API_PREFIX } from './api.js'
export type { ApiContext } from './api.js'
export { ApiClient } from './client.js'
export type { ApiClientInit, NodeInfo, PeerView, SubmitJobInit, ReceiptsQuery } from './client.js'
export { JobTracker, MAX_JOB_EVENTS, MAX_FINISHED_JOBS, summarize } from './jobs.js'
export { SeriesRecorder, quantile } from './series.js'
export type { SeriesSample, SeriesSources } from './series.js'
export { WorkerLeaseLog, ownerEarningsByDay } from './views.js'
export type { OwnerEarningsDay, WorkerLeaseView } from './views.js'
export type { JobView, JobWorkerView, JobRequest, JobSummary } from './jobs.js'
export { DaemonMetrics, LATENCY_BUCKETS_SECONDS, DURATION_BUCKETS_SECONDS } from './metrics.js'
export type { VehicleGaugeSource } from './metrics.js'
export { FileVehicleState, HttpVehicleState, parseVehicleReport } from './vehicle-state.js'
export type { FileVehicleStateInit, HttpVehicleStateInit, VehicleReport } from './vehicle-state.js'
export { EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './constants.js'
export { readNpy, writeNpy, NPY_DTYPES } from './npy.js'
export type { NpyArray } from './npy.js'
export { loadOrCreateToken, readApiAddress, writeApiAddress, removeApiAddress, API_TOKEN_FILE, API_JSON_FILE, CONFIG_FILE, CERTIFICATE_FILE } from './files.js'
export type { ApiAddress } from './files.js'
export { main, createProgram, AUTHORITY_KEY_FILE, AUTHORITY_PUB_FILE } from './cli.js'
export * from './errors.js'
