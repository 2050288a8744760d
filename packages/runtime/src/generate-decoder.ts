import { filled, floatInput, floatScalar, int64Scalar, int64Vector, model, rng, tensorInfo, weights } from './onnx-build.js'
import type { StatePair } from './state.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type onnxProto from 'onnx-proto'

/**
 * A GPT-style decoder generated in code, for stateful sessions: the KV
 * cache of every layer is a graph input (`past_key_<i>`, `past_value_<i>`)
 * and a graph output (`present_key_<i>`, `present_value_<i>`), so a step
 * sends only the new tokens and the state stays where the step ran.
 *
 * Graph (opset 17):
 * - `input_ids` int64 `[1, seq]` → token embedding + position embedding;
 *   the positions are `past … past + seq − 1`, with `past` read from the
 *   shape of `past_key_0` inside the graph;
 * - per layer i: LayerNormalization → multi-head attention over the past
 *   and new keys with a causal mask (query at position p sees keys at
 *   positions ≤ p; each layer reads its own past length from
 *   `past_key_<i>`, so a layer needs no tensor of another layer but the
 *   hidden state) → residual → LayerNormalization → MLP (GELU or Relu) →
 *   residual;
 * - final LayerNormalization → `logits` float32 `[1, seq, vocab]`.
 *
 * KV tensors are float32 `[1, heads, past, headDim]` in and
 * `[1, heads, past + seq, headDim]` out. Symbolic dims: `seq`, `past`
 * (and `past_plus_seq` on the outputs). The first step feeds `past` = 0
 * (zero-size tensors, see {@link decoderInitialState}); onnxruntime
 * accepts them. Weights come from a seeded PRNG (mulberry32): the same
 * options give the same bytes.
 */

/** Options of {@link generateDecoder}. */
export interface DecoderOptions {
  /** token ids are 0 … vocab − 1 @default 256 */
  vocab?: number
  /** width of the hidden state @default 64 */
  dModel?: number
  /** attention heads; must divide `dModel` @default 4 */
  heads?: number
  /** decoder layers @default 4 */
  layers?: number
  /** most positions (past + seq) the position embedding covers @default 1024 */
  maxPositions?: number
  /** activation of the MLP @default 'gelu' */
  activation?: 'gelu' | 'relu'
  /** width of the MLP's hidden layer @default 4 × dModel */
  mlpHidden?: number
  /** PRNG seed @default 1 */
  seed?: number
}

/** The resolved shape options of a decoder. */
interface DecoderShape { vocab: number, dModel: number, heads: number, layers: number, headDim: number }

/** @throws RangeError on a non-positive or non-integer size, or heads that do not divide dModel */
function decoderShape (options: DecoderOptions): DecoderShape {
  const vocab = options.vocab ?? 256
  const dModel = options.dModel ?? 64
  const heads = options.heads ?? 4
  const layers = options.layers ?? 4
  for (const [name, v] of Object.entries({ vocab, dModel, heads, layers, maxPositions: options.maxPositions ?? 1, mlpHidden: options.mlpHidden ?? 1 })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`generateDecoder needs ${name} >= 1 (an integer), got ${v}`)
  }
  if (dModel % heads !== 0) throw new RangeError(`generateDecoder needs heads (${heads}) to divide dModel (${dModel})`)
  return { vocab, dModel, heads, layers, headDim: dModel / heads }
}

/**
 * Generates the decoder's ONNX model bytes.
 *
 * @param options - sizes, activation and seed; the defaults make a model of about 1 MB
 * @throws RangeError on a size that is not a positive integer, or heads that do not divide dModel
 */
export function generateDecoder (options: DecoderOptions = {}): Uint8Array {
  const { vocab, dModel: d, heads: H, layers: L, headDim: Dh } = decoderShape(options)
  const maxPositions = options.maxPositions ?? 1024
  const mlp = options.mlpHidden ?? 4 * d
  const activation = options.activation ?? 'gelu'
  const random = rng(options.seed ?? 1)
  const nodes: onnxProto.onnx.INodeProto[] = []
  const init: onnxProto.onnx.ITensorProto[] = [
    int64Scalar('c_i0', 0), int64Scalar('c_i1', 1), int64Scalar('c_i2', 2),
    int64Vector('c_axis0', [0]), int64Vector('c_axis1', [1]),
    int64Vector('c_heads_shape', [0, 0, H, Dh]), int64Vector('c_model_shape', [0, 0, d]),
    floatScalar('c_zero', 0), floatScalar('c_masked', -1e9), floatScalar('c_scale', 1 / Math.sqrt(Dh)),
    ...(activation === 'gelu' ? [floatScalar('c_one', 1), floatScalar('c_half', 0.5), floatScalar('c_sqrt2', Math.SQRT2)] : [])
  ]
  const op = (opType: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []): string => {
    nodes.push({ opType, input, output: [output], name: output, attribute })
    return output
  }
  const linear = (name: string, x: string, inDim: number, outDim: number): string => {
    init.push(weights(`${name}_w`, [inDim, outDim], random, 1 / Math.sqrt(inDim)), weights(`${name}_b`, [outDim], random, 0.02))
    return op('Add', [op('MatMul', [x, `${name}_w`], `${name}_mm`), `${name}_b`], name)
  }
  const layerNorm = (name: string, x: string): string => {
    init.push(filled(`${name}_g`, [d], 1), filled(`${name}_b`, [d], 0))
    return op('LayerNormalization', [x, `${name}_g`, `${name}_b`], name, [{ name: 'axis', type: 2, i: -1 }, { name: 'epsilon', type: 1, f: 1e-5 }])
  }
  const perm = (p: number[]): onnxProto.onnx.IAttributeProto[] => [{ name: 'perm', type: 7, ints: p }]
  /** `past` (int64 scalar) from a `[1, heads, past, headDim]` tensor */
  const pastLength = (name: string, past: string): string => op('Gather', [op('Shape', [past], `${name}_shape`), 'c_i2'], name, [{ name: 'axis', type: 2, i: 0 }])

  // embeddings: token + position (positions past … past + seq − 1)
  init.push(weights('tok_emb', [vocab, d], random, 1), weights('pos_emb', [maxPositions, d], random, 0.1))
  const past0 = pastLength('emb_past', 'past_key_0')
  const seq0 = op('Gather', [op('Shape', ['input_ids'], 'emb_ids_shape'), 'c_i1'], 'emb_seq', [{ name: 'axis', type: 2, i: 0 }])
  // rows past … past + seq − 1 of the position table: a Slice (onnxruntime rewrites Gather(Range) into a
  // Slice itself, and crashes when the Range is also exposed as an output, as the partitioner's measuring run does)
  const start = op('Unsqueeze', [past0, 'c_axis0'], 'emb_start')
  const end = op('Unsqueeze', [op('Add', [past0, seq0], 'emb_end_scalar'), 'c_axis0'], 'emb_end')
  let x = op('Add', [
    op('Gather', ['tok_emb', 'input_ids'], 'emb_tokens', [{ name: 'axis', type: 2, i: 0 }]),
    op('Slice', ['pos_emb', start, end, 'c_axis0'], 'emb_pos')
  ], 'emb')

  for (let i = 0; i < L; i++) {
    const p = `l${i}`
    // causal mask over this layer's past + the new positions: key k is visible to query q when k <= past + q
    const past = pastLength(`${p}_past`, `past_key_${i}`)
    const seq = op('Gather', [op('Shape', [x], `${p}_x_shape`), 'c_i1'], `${p}_seq`, [{ name: 'axis', type: 2, i: 0 }])
    const total = op('Add', [past, seq], `${p}_total`)
    const queries = op('Unsqueeze', [op('Range', [past, total, 'c_i1'], `${p}_qpos`), 'c_axis1'], `${p}_qpos_col`)
    const keys = op('Unsqueeze', [op('Range', ['c_i0', total, 'c_i1'], `${p}_kpos`), 'c_axis0'], `${p}_kpos_row`)
    const mask = op('Where', [op('LessOrEqual', [keys, queries], `${p}_visible`), 'c_zero', 'c_masked'], `${p}_mask`)

    const ln1 = layerNorm(`${p}_ln1`, x)
    const heads = (name: string): string => op('Transpose', [op('Reshape', [linear(`${p}_${name}`, ln1, d, d), 'c_heads_shape'], `${p}_${name}_heads`)], `${p}_${name}_heads_t`, perm([0, 2, 1, 3]))
    const q = heads('q')
    const k = op('Concat', [`past_key_${i}`, heads('k')], `present_key_${i}`, [{ name: 'axis', type: 2, i: 2 }])
    const v = op('Concat', [`past_value_${i}`, heads('v')], `present_value_${i}`, [{ name: 'axis', type: 2, i: 2 }])
    const scores = op('Mul', [op('MatMul', [q, op('Transpose', [k], `${p}_k_t`, perm([0, 1, 3, 2]))], `${p}_qk`), 'c_scale'], `${p}_scores`)
    const probs = op('Softmax', [op('Add', [scores, mask], `${p}_masked`)], `${p}_probs`, [{ name: 'axis', type: 2, i: -1 }])
    const context = op('Reshape', [op('Transpose', [op('MatMul', [probs, v], `${p}_ctx`)], `${p}_ctx_t`, perm([0, 2, 1, 3])), 'c_model_shape'], `${p}_ctx_flat`)
    x = op('Add', [x, linear(`${p}_o`, context, d, d)], `${p}_attn_res`)

    const h = linear(`${p}_fc1`, layerNorm(`${p}_ln2`, x), d, mlp)
    const act = activation === 'relu'
      ? op('Relu', [h], `${p}_act`)
      // exact GELU: x · ½ · (1 + erf(x / √2)) (onnxruntime fuses it into one Gelu kernel)
      : op('Mul', [op('Mul', [h, op('Add', [op('Erf', [op('Div', [h, 'c_sqrt2'], `${p}_gelu_div`)], `${p}_gelu_erf`), 'c_one'], `${p}_gelu_add`)], `${p}_gelu_mul`), 'c_half'], `${p}_act`)
    x = op('Add', [x, linear(`${p}_fc2`, act, mlp, d)], `${p}_mlp_res`)
  }
  const final = layerNorm('ln_f', x)
  init.push(weights('lm_head_w', [d, vocab], random, 1 / Math.sqrt(d)))
  op('MatMul', [final, 'lm_head_w'], 'logits')

  const kv = (prefix: string, dim: string): onnxProto.onnx.ValueInfoProto[] => Array.from({ length: L }, (_, i) => [floatInput(`${prefix}_key_${i}`, [1, H, dim, Dh]), floatInput(`${prefix}_value_${i}`, [1, H, dim, Dh])]).flat()
  return model({
    name: 'decoder',
    node: nodes,
    initializer: init,
    input: [tensorInfo('input_ids', 7, [1, 'seq']), ...kv('past', 'past')],
    output: [floatInput('logits', [1, 'seq', vocab]), ...kv('present', 'past_plus_seq')]
  }, 17)
}

/**
 * The decoder's state pairs, layer by layer: `present_key_<i>` →
 * `past_key_<i>`, then `present_value_<i>` → `past_value_<i>`.
 *
 * @param layers - the decoder's layer count @default 4
 */
export function decoderStatePairs (layers = 4): StatePair[] {
  return Array.from({ length: layers }, (_, i) => [
    { output: `present_key_${i}`, input: `past_key_${i}` },
    { output: `present_value_${i}`, input: `past_value_${i}` }
  ]).flat()
}

/**
 * The decoder's state before the first step: an empty KV cache, float32
 * `[1, heads, 0, headDim]` per `past_key_<i>` and `past_value_<i>`, in the
 * order of {@link decoderStatePairs}.
 *
 * @param options - the options the decoder was generated with (sizes only)
 * @throws RangeError as {@link generateDecoder}
 */
export function decoderInitialState (options: DecoderOptions = {}): WireTensor[] {
  const { heads, layers, headDim } = decoderShape(options)
  return decoderStatePairs(layers).map(pair => ({ name: pair.input, dtype: 'float32', dims: [1, heads, 0, headDim], data: new Float32Array(0) }))
}
