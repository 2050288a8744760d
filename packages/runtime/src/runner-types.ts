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
  /** a stateful call (`RunOptions.state`) */
  state?: RunnerStateFields
  /** keys of states this runner may forget (their sessions ended) */
  drop?: string[]
}

/** The state of a stateful call, as the runner sees it. */
export interface RunnerStateFields {
  key: string
  /** each output fed back as the input at the next call */
  pairs: Array<{ output: string, input: string }>
  /** state outputs not to return (they stay in the runner) */
  omit: string[]
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
  /** a stateful call: bytes of the state the runner now keeps for its key */
  stateBytes?: number
  /** a failed call; `output` and `size` (bytes) for an OutputTooLargeError */
  error?: { name: string, message: string, output?: string, size?: number }
}
