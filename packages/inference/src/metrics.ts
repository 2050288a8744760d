import type { CounterGroup, Histogram, Metrics } from '@libp2p/interface'

/**
 * The inference service's own Prometheus metrics, registered through
 * libp2p's `components.metrics` (an embedder that gives libp2p a metrics
 * implementation gets them too). Base units, `_total` only on counters,
 * label values from fixed sets (never a remote's error code).
 */
export interface InferenceMetrics {
  /** `fleetmesh_inference_worker_compute_seconds`: onnxruntime time of each micro-batch this node ran as a worker */
  workerCompute: Histogram
  /** `fleetmesh_inference_worker_micro_batches_total{kind}`: micro-batches this worker ran, by session kind (data, stage) */
  workerMicroBatches: CounterGroup<'data' | 'stage'>
  /** `fleetmesh_inference_verifications_total{outcome}`: spot checks this requester judged (agreed, disputed, caught, no_majority) */
  verifications: CounterGroup<'agreed' | 'disputed' | 'caught' | 'no_majority'>
  /** `fleetmesh_inference_worker_errors_total{outcome}`: worker errors this requester received (recovered by a re-award, or failing the job) */
  workerErrors: CounterGroup<'recovered' | 'failed'>
  /** `fleetmesh_inference_jobs_total{state}`: jobs this node submitted, by final state (done, failed) */
  jobs: CounterGroup<'done' | 'failed'>
}

/** Micro-batch compute buckets, seconds: 1 ms to 2 min. */
const COMPUTE_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120]

/** Registers the inference metrics. */
export function registerInferenceMetrics (metrics: Metrics): InferenceMetrics {
  return {
    workerCompute: metrics.registerHistogram('fleetmesh_inference_worker_compute_seconds', { help: 'onnxruntime time of each micro-batch this worker ran, seconds', buckets: COMPUTE_BUCKETS_SECONDS }),
    workerMicroBatches: metrics.registerCounterGroup('fleetmesh_inference_worker_micro_batches_total', { label: 'kind', help: 'micro-batches this worker ran, by session kind (data, stage)' }) as CounterGroup<'data' | 'stage'>,
    verifications: metrics.registerCounterGroup('fleetmesh_inference_verifications_total', { label: 'outcome', help: 'spot checks of micro-batches this requester judged, by outcome (agreed, disputed, caught, no_majority)' }) as CounterGroup<'agreed' | 'disputed' | 'caught' | 'no_majority'>,
    workerErrors: metrics.registerCounterGroup('fleetmesh_inference_worker_errors_total', { label: 'outcome', help: 'errors workers reported to this requester, by outcome (recovered by a re-award, failed the job)' }) as CounterGroup<'recovered' | 'failed'>,
    jobs: metrics.registerCounterGroup('fleetmesh_inference_jobs_total', { label: 'state', help: 'jobs this node submitted, by final state (done, failed)' }) as CounterGroup<'done' | 'failed'>
  }
}
