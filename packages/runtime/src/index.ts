/**
 * @packageDocumentation
 *
 * fleetmesh's inference runtime, with no libp2p inside: a content-addressed
 * model store (CIDv1 raw sha2-256, size budget, LRU eviction), safe loading
 * (ONNX validation before onnxruntime sees a model: no external data, no
 * custom operator domains, size limits), isolated onnxruntime sessions in
 * runner child processes, a throughput profile, and pipeline partitioning
 * of ONNX graphs (stage models that take any micro-batch size, each
 * listing which inputs come from the previous stage and which from the
 * requester) with placement of the stages on peers.
 *
 * @example
 *
 * ```TypeScript
 * import { readFile } from 'node:fs/promises'
 * import { ModelStore, createRuntime, partitionModel } from '@fleetmesh/runtime'
 *
 * const store = await ModelStore.open('/tmp/fleetmesh-models')
 * const model = await store.put(await readFile('model.onnx'))   // validated, stored by CID
 * const runtime = await createRuntime({ store, runners: 1 })
 * const { outputs } = await runtime.run(model.cid, [{ name: 'x', dtype: 'float32', dims: [1, 4], data: new Float32Array(4) }])
 * await runtime.stop()
 * ```
 */

export * from './errors.js'
export { modelCid, parseModelCid, cidDigest } from './cid.js'
export { validateModel, DEFAULT_MODEL_LIMITS } from './validate.js'
export type { ModelInfo, ModelLimits, TensorInfo } from './validate.js'
export { ModelStore, DEFAULT_STORE_BUDGET_BYTES } from './store.js'
export type { ModelStoreInit, StagedModel, StoredModel } from './store.js'
export { createRuntime, Runtime, DEFAULT_RUN_TIMEOUT_MS } from './runtime.js'
export type { RuntimeInit, RunOptions, RunResult, RunState, RuntimeEvents } from './runtime.js'
export { LocalSession, maxAbsDiff } from './local.js'
export { profile } from './profile.js'
export type { ThroughputProfile } from './profile.js'
export { partitionModel, runStagesLocally } from './partition.js'
export type { Partition, PartitionOptions, Stage, SymbolicDim } from './partition.js'
export { DEFAULT_PARTITION_SLACK, DEFAULT_MAX_OUTPUT_BYTES, EXCHANGE_RETAIN_BYTES, EXCHANGE_SYNC_MAX_BYTES, MAX_RUNNER_STATES } from './constants.js'
export { planStages, MAX_EXHAUSTIVE_PLANS } from './plan.js'
export type { PlacementPeer, PlanOptions, StagePlacement, StagePlan } from './plan.js'
export { generateMlp, generateConvNet, generateDtypeProbe, skipInputModel, broadcastInputModel, expandOutputModel } from './generate.js'
export type { MlpOptions, ConvNetOptions, SkipInputOptions, BroadcastInputOptions, ExpandOutputOptions } from './generate.js'
export { generateDecoder, decoderStatePairs, decoderInitialState } from './generate-decoder.js'
export type { DecoderOptions } from './generate-decoder.js'
export { generateGru, gruInitialState, GRU_STATE_PAIRS } from './generate-recurrent.js'
export type { GruOptions } from './generate-recurrent.js'
export { checkStatePairs, inferStatePairs, zeroState } from './state.js'
export type { StatePair } from './state.js'
