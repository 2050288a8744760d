import type { WireTensor } from '@fleetmesh/protocol'

/** A runner's configuration, passed as JSON in its argv (before any request can arrive). */
export interface RunnerConfig {
  /** sessions cached (LRU by model CID) */
  maxSessions: number
  /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose */
  intraOpNumThreads: number
}

/** Fields of a run request's header on the data socket (its inputs travel in the exchange's `in` file). */
export interface RunRequestFields {
  id: number
  cid: string
  path: string
  /** most bytes the call's outputs may hold together */
  maxOutputBytes: number
}

/** Requests from the node to a runner process. */
export type RunnerRequest =
  | { id: number, type: 'load', cid: string, path: string, warmup?: WireTensor[] }
  | ({ type: 'run', inputs: WireTensor[] } & RunRequestFields)

/** Replies from a runner process. */
export interface RunnerReply {
  id: number
  ok: boolean
  ready?: boolean
  outputs?: WireTensor[]
  inputNames?: string[]
  outputNames?: string[]
  /** onnxruntime run time inside the runner, ms */
  ms?: number
  /** a failed call; `output` and `size` (bytes) for an OutputTooLargeError */
  error?: { name: string, message: string, output?: string, size?: number }
}
