import type { WireTensor } from '@fleetmesh/protocol'

/** Requests from the node to a runner process. */
export type RunnerRequest =
  | { id: number, type: 'configure', maxSessions: number, intraOpNumThreads: number }
  | { id: number, type: 'load', cid: string, path: string, warmup?: WireTensor[] }
  | { id: number, type: 'run', cid: string, path: string, inputs: WireTensor[] }

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
  error?: { name: string, message: string }
}
