import { ExternalDataError, ForbiddenOperatorError, InvalidModelError, ModelTooLargeError } from './errors.js'
import { checkTensorData, decodeModel, ONNX_DTYPES } from './onnx.js'
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './onnx.js'

/**
 * Safe loading: every model is checked here before onnxruntime sees it.
 * Refused: bytes that are not ONNX, tensors with external data (a path
 * beside the model file — the classic path-escape, e.g. `../../etc/passwd`),
 * operators outside the allowed domains (custom ops run native code),
 * tensors whose data does not match their declared dims and data type (a
 * size understated by its raw data, or data missing), and models over the
 * size, node-count or initializer limits.
 */

/** Limits of {@link validateModel}; every field optional. */
export interface ModelLimits {
  /** largest model file, bytes @default 256 MiB */
  maxBytes?: number
  /** most graph nodes, subgraphs included @default 50000 */
  maxNodes?: number
  /** most initializers @default 20000 */
  maxInitializers?: number
  /** largest total initializer size, bytes @default 256 MiB */
  maxInitializerBytes?: number
  /** operator domains allowed; '' and 'ai.onnx' are the default ONNX domain @default ['', 'ai.onnx', 'com.microsoft'] */
  allowedDomains?: string[]
}

export const DEFAULT_MODEL_LIMITS: Required<ModelLimits> = {
  maxBytes: 256 * 1024 * 1024,
  maxNodes: 50_000,
  maxInitializers: 20_000,
  maxInitializerBytes: 256 * 1024 * 1024,
  allowedDomains: ['', 'ai.onnx', 'com.microsoft']
}

/** One input or output of a model. */
export interface TensorInfo {
  name: string
  /** onnxruntime dtype name, e.g. `float32`; `unknown` if the graph does not say */
  dtype: string
  /** dimensions: a number, a symbolic name (dynamic), or null if unknown */
  shape: Array<number | string | null>
}

/** What validation learns about a model. */
export interface ModelInfo {
  /** file size, bytes */
  size: number
  inputs: TensorInfo[]
  outputs: TensorInfo[]
  /** graph nodes, subgraphs included */
  nodeCount: number
  /** distinct operator types (`domain:op`) */
  opTypes: string[]
  /** operator count per type */
  opCount: number
  initializerCount: number
  initializerBytes: number
  /** opset per domain, e.g. `{ '': 11 }` */
  opsets: Record<string, number>
}

const EXTERNAL = 1 // TensorProto.DataLocation.EXTERNAL

function valueInfo (v: ValueInfoProto): TensorInfo {
  const tt = v.type?.tensorType
  return {
    name: v.name ?? '',
    dtype: ONNX_DTYPES[tt?.elemType ?? 0] ?? 'unknown',
    shape: (tt?.shape?.dim ?? []).map(d => d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : (d.dimParam != null && d.dimParam !== '' ? d.dimParam : null))
  }
}

/**
 * Refuses external data, then data that does not match the declared dims
 * and data type.
 *
 * @returns the bytes the tensor's data holds (0 for none)
 * @throws ExternalDataError, InvalidModelError naming the tensor
 */
function checkTensor (t: TensorProto | null | undefined, where: string): number {
  if (t == null) return 0
  if (t.dataLocation === EXTERNAL || (t.externalData ?? []).length > 0) {
    const location = (t.externalData ?? []).find(e => e.key === 'location')?.value ?? '(no location)'
    throw new ExternalDataError(`tensor "${t.name ?? ''}" in ${where} refers to external data at "${location}"; models must carry all their weights inside the file`)
  }
  const data = checkTensorData(t)
  if (data.mismatch != null) throw new InvalidModelError(`tensor "${t.name ?? ''}" in ${where} ${data.mismatch}; its data must match its declared dims and data type`)
  return data.bytes
}

interface Walk { nodes: number, ops: Map<string, number>, initializers: number, initializerBytes: number }

function walkGraph (g: GraphProto, where: string, limits: Required<ModelLimits>, acc: Walk): void {
  for (const t of g.initializer ?? []) {
    acc.initializerBytes += checkTensor(t, `the initializers of ${where}`)
    acc.initializers++
  }
  for (const s of g.sparseInitializer ?? []) {
    acc.initializerBytes += checkTensor(s.values, `the sparse initializers of ${where}`) + checkTensor(s.indices, `the sparse initializers of ${where}`)
    acc.initializers++
  }
  for (const node of g.node ?? []) walkNode(node, where, limits, acc)
}

function walkNode (node: NodeProto, where: string, limits: Required<ModelLimits>, acc: Walk): void {
  acc.nodes++
  if (acc.nodes > limits.maxNodes) throw new ModelTooLargeError(`model has more than ${limits.maxNodes} nodes; raise maxNodes to accept it`)
  const domain = node.domain ?? ''
  if (!limits.allowedDomains.includes(domain)) {
    throw new ForbiddenOperatorError(`node "${node.name ?? ''}" (${node.opType ?? '?'}) uses operator domain "${domain}", which is not allowed (allowed: ${limits.allowedDomains.map(d => d === '' ? '""' : d).join(', ')}); custom operators are refused`)
  }
  const key = `${domain}:${node.opType ?? ''}`
  acc.ops.set(key, (acc.ops.get(key) ?? 0) + 1)
  for (const a of node.attribute ?? []) {
    const at = `attribute "${a.name ?? ''}" of node "${node.name ?? ''}"`
    checkTensor(a.t, at)
    for (const t of a.tensors ?? []) checkTensor(t, at)
    checkTensor(a.sparseTensor?.values, at)
    for (const s of a.sparseTensors ?? []) checkTensor(s.values, at)
    if (a.g != null) walkGraph(a.g, `subgraph ${at}`, limits, acc)
    for (const g of a.graphs ?? []) walkGraph(g, `subgraph ${at}`, limits, acc)
  }
}

/**
 * Validates ONNX model bytes and describes the model.
 *
 * @param bytes - the .onnx file
 * @param limits - overrides of {@link DEFAULT_MODEL_LIMITS}
 * @throws ModelTooLargeError, ExternalDataError, ForbiddenOperatorError
 * @throws InvalidModelError for bytes that are not ONNX, a graph with no inputs, or a tensor (initializer, Constant value) whose data does not match its dims and data type
 */
export function validateModel (bytes: Uint8Array, limits: ModelLimits = {}): ModelInfo {
  const l: Required<ModelLimits> = { ...DEFAULT_MODEL_LIMITS, ...limits }
  if (bytes.byteLength > l.maxBytes) {
    throw new ModelTooLargeError(`model is ${bytes.byteLength} bytes, over the ${l.maxBytes}-byte limit`)
  }
  const model: ModelProto = decodeModel(bytes)
  const graph = model.graph as GraphProto
  const fn = (model.functions ?? [])[0]
  if (fn != null) {
    // model-local functions define operators in their own domain
    throw new ForbiddenOperatorError(`model defines local function "${fn.domain ?? ''}:${fn.name ?? ''}"; model-local functions are refused`)
  }
  const acc: Walk = { nodes: 0, ops: new Map(), initializers: 0, initializerBytes: 0 }
  walkGraph(graph, 'the main graph', l, acc)
  if (acc.initializers > l.maxInitializers) throw new ModelTooLargeError(`model has ${acc.initializers} initializers, over the limit of ${l.maxInitializers}`)
  if (acc.initializerBytes > l.maxInitializerBytes) throw new ModelTooLargeError(`model initializers hold ${acc.initializerBytes} bytes, over the limit of ${l.maxInitializerBytes}`)
  const initNames = new Set((graph.initializer ?? []).map(t => t.name))
  const inputs = (graph.input ?? []).filter(v => !initNames.has(v.name)).map(valueInfo)
  if (inputs.length === 0) throw new InvalidModelError('model has no graph inputs')
  const opsets: Record<string, number> = {}
  for (const o of model.opsetImport ?? []) opsets[o.domain ?? ''] = Number(o.version ?? 0)
  return {
    size: bytes.byteLength,
    inputs,
    outputs: (graph.output ?? []).map(valueInfo),
    nodeCount: acc.nodes,
    opTypes: [...acc.ops.keys()].sort(),
    opCount: [...acc.ops.values()].reduce((a, b) => a + b, 0),
    initializerCount: acc.initializers,
    initializerBytes: acc.initializerBytes,
    opsets
  }
}
