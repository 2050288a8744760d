import { floatInput, int64Scalar, int64Vector, model, rng, weights } from './onnx-build.js'
import { onnx } from './onnx.js'
import type onnxProto from 'onnx-proto'

/**
 * ONNX graphs generated in code (with onnx-proto), for tests, benchmarks and
 * demos: no model file needs to be downloaded. Weights come from a seeded
 * PRNG (mulberry32), so the same options give the same bytes (and CID).
 */

/** Options of {@link generateMlp}. */
export interface MlpOptions {
  /** input features @default 16 */
  inputs?: number
  /** width of each hidden layer; its length is the depth @default [32, 32] */
  hidden?: number[]
  /** output features @default 4 */
  outputs?: number
  /** PRNG seed @default 1 */
  seed?: number
}

/**
 * A multi-layer perceptron: `x [batch, inputs]` → (MatMul, Add, Relu) per
 * hidden layer → MatMul, Add → `y [batch, outputs]`. The batch dimension is
 * dynamic (`batch`).
 */
export function generateMlp (options: MlpOptions = {}): Uint8Array {
  const random = rng(options.seed ?? 1)
  const widths = [options.inputs ?? 16, ...(options.hidden ?? [32, 32]), options.outputs ?? 4]
  const nodes: onnxProto.onnx.INodeProto[] = []
  const init: onnxProto.onnx.ITensorProto[] = []
  let x = 'x'
  for (let l = 0; l + 1 < widths.length; l++) {
    const [a, b] = [widths[l] as number, widths[l + 1] as number]
    init.push(weights(`w${l}`, [a, b], random, 1 / Math.sqrt(a)), weights(`b${l}`, [b], random, 0.1))
    nodes.push({ opType: 'MatMul', input: [x, `w${l}`], output: [`mm${l}`], name: `matmul${l}` })
    const last = l + 2 === widths.length
    nodes.push({ opType: 'Add', input: [`mm${l}`, `b${l}`], output: [last ? 'y' : `add${l}`], name: `add${l}` })
    if (!last) nodes.push({ opType: 'Relu', input: [`add${l}`], output: [`h${l}`], name: `relu${l}` })
    x = `h${l}`
  }
  return model({
    name: 'mlp',
    node: nodes,
    initializer: init,
    input: [floatInput('x', ['batch', widths[0] as number])],
    output: [floatInput('y', ['batch', widths[widths.length - 1] as number])]
  })
}

/** Options of {@link generateConvNet}. */
export interface ConvNetOptions {
  /** residual conv blocks @default 3 */
  depth?: number
  /** channels of every block @default 8 */
  channels?: number
  /** input image side (square, 3 channels) @default 32 */
  size?: number
  /** classes of the final layer @default 10 */
  classes?: number
  /** PRNG seed @default 1 */
  seed?: number
}

/**
 * A small convolutional net: `x [batch, 3, size, size]` → stem Conv+Relu →
 * `depth` residual blocks (Conv, Relu, Conv, Add skip, Relu; every second
 * block halves the resolution with a stride-2 Conv first) → GlobalAveragePool
 * → Flatten → Gemm → `logits [batch, classes]`. Skip connections make some
 * cut points carry two tensors, as in real CNNs.
 */
export function generateConvNet (options: ConvNetOptions = {}): Uint8Array {
  const random = rng(options.seed ?? 1)
  const depth = options.depth ?? 3
  const c = options.channels ?? 8
  const size = options.size ?? 32
  const classes = options.classes ?? 10
  const nodes: onnxProto.onnx.INodeProto[] = []
  const init: onnxProto.onnx.ITensorProto[] = []
  const conv = (name: string, input: string, cin: number, cout: number, stride: number): string => {
    init.push(weights(`${name}_w`, [cout, cin, 3, 3], random, 1 / Math.sqrt(cin * 9)), weights(`${name}_b`, [cout], random, 0.05))
    nodes.push({
      opType: 'Conv',
      input: [input, `${name}_w`, `${name}_b`],
      output: [name],
      name,
      attribute: [
        { name: 'kernel_shape', type: 7, ints: [3, 3] },
        { name: 'pads', type: 7, ints: [1, 1, 1, 1] },
        { name: 'strides', type: 7, ints: [stride, stride] }
      ]
    })
    return name
  }
  const relu = (input: string, name: string): string => { nodes.push({ opType: 'Relu', input: [input], output: [name], name }); return name }
  let x = relu(conv('stem', 'x', 3, c, 1), 'stem_relu')
  for (let b = 0; b < depth; b++) {
    if (b % 2 === 1) x = relu(conv(`down${b}`, x, c, c, 2), `down${b}_relu`)
    const h = relu(conv(`b${b}_c1`, x, c, c, 1), `b${b}_r1`)
    const y = conv(`b${b}_c2`, h, c, c, 1)
    nodes.push({ opType: 'Add', input: [y, x], output: [`b${b}_add`], name: `b${b}_add` })
    x = relu(`b${b}_add`, `b${b}_out`)
  }
  nodes.push({ opType: 'GlobalAveragePool', input: [x], output: ['gap'], name: 'gap' })
  nodes.push({ opType: 'Flatten', input: ['gap'], output: ['flat'], name: 'flatten' })
  init.push(weights('fc_w', [c, classes], random, 1 / Math.sqrt(c)), weights('fc_b', [classes], random, 0.05))
  nodes.push({ opType: 'Gemm', input: ['flat', 'fc_w', 'fc_b'], output: ['logits'], name: 'fc' })
  return model({
    name: 'convnet',
    node: nodes,
    initializer: init,
    input: [floatInput('x', ['batch', 3, size, size])],
    output: [floatInput('logits', ['batch', classes])]
  })
}

/**
 * A model with several named inputs and outputs of different element types
 * (float32, int64, int32, uint8, bool, float16, float64) and a scalar, for
 * testing the tensor path end to end: each output is its input through an
 * operator that keeps the type (`Identity`, or `Not` for bool).
 */
export function generateDtypeProbe (): Uint8Array {
  const types: Array<[string, number, number[]]> = [['f32', 1, [2, 3]], ['i64', 7, [4]], ['i32', 6, [2, 2]], ['u8', 2, [5]], ['flag', 9, [3]], ['f16', 10, [2]], ['f64', 11, [2]], ['scalar', 1, []]]
  const vi = (name: string, elemType: number, dims: number[]): onnxProto.onnx.ValueInfoProto =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim: dims.map(d => ({ dimValue: d })) } } } })
  return model({
    name: 'dtype_probe',
    node: types.map(([n, t]) => ({ opType: t === 9 ? 'Not' : 'Identity', input: [n], output: [`${n}_out`], name: `id_${n}` })),
    input: types.map(([n, t, d]) => vi(n, t, d)),
    output: types.map(([n, t, d]) => vi(`${n}_out`, t, d))
  })
}

/** Options of {@link skipInputModel}. */
export interface SkipInputOptions {
  /** input features of `x` @default 16 */
  inputs?: number
  /** width of every hidden layer @default 32 */
  hidden?: number
  /** layers (MatMul, Add, then Relu except on the last), at least 2 @default 6 */
  layers?: number
  /** output features of `y` @default 4 */
  outputs?: number
  /** PRNG seed @default 1 */
  seed?: number
}

/**
 * An MLP whose last layer also reads the original input (a skip from the
 * graph input to the output): `x [batch, inputs]` → `layers − 1` hidden
 * layers `h = Relu(h·W + b)` → `y = h·W_last + x·V + b_last`
 * (`y [batch, outputs]`). The `x·V` product comes last in the file, so a
 * cut into 3 or more stages leaves the last stage reading the graph input
 * `x` itself rather than an activation. The batch dimension is symbolic
 * (`batch`).
 *
 * @throws RangeError if `layers` is not an integer >= 2
 */
export function skipInputModel (options: SkipInputOptions = {}): Uint8Array {
  const random = rng(options.seed ?? 1)
  const inputs = options.inputs ?? 16
  const hidden = options.hidden ?? 32
  const layers = options.layers ?? 6
  const outputs = options.outputs ?? 4
  if (!Number.isInteger(layers) || layers < 2) throw new RangeError(`skipInputModel needs layers >= 2 (an integer), got ${layers}`)
  const nodes: onnxProto.onnx.INodeProto[] = []
  const init: onnxProto.onnx.ITensorProto[] = []
  let h = 'x'
  let width = inputs
  for (let l = 0; l + 1 < layers; l++) {
    init.push(weights(`w${l}`, [width, hidden], random, 1 / Math.sqrt(width)), weights(`b${l}`, [hidden], random, 0.1))
    nodes.push({ opType: 'MatMul', input: [h, `w${l}`], output: [`mm${l}`], name: `matmul${l}` })
    nodes.push({ opType: 'Add', input: [`mm${l}`, `b${l}`], output: [`add${l}`], name: `add${l}` })
    nodes.push({ opType: 'Relu', input: [`add${l}`], output: [`h${l}`], name: `relu${l}` })
    h = `h${l}`
    width = hidden
  }
  init.push(weights('w_last', [width, outputs], random, 1 / Math.sqrt(width)), weights('v_skip', [inputs, outputs], random, 1 / Math.sqrt(inputs)), weights('b_last', [outputs], random, 0.1))
  nodes.push({ opType: 'MatMul', input: [h, 'w_last'], output: ['mm_last'], name: 'matmul_last' })
  nodes.push({ opType: 'MatMul', input: ['x', 'v_skip'], output: ['mm_skip'], name: 'matmul_skip' })
  nodes.push({ opType: 'Add', input: ['mm_last', 'mm_skip'], output: ['sum_last'], name: 'add_skip' })
  nodes.push({ opType: 'Add', input: ['sum_last', 'b_last'], output: ['y'], name: 'add_last' })
  return model({
    name: 'skip_input_mlp',
    node: nodes,
    initializer: init,
    input: [floatInput('x', ['batch', inputs])],
    output: [floatInput('y', ['batch', outputs])]
  })
}

/** Options of {@link broadcastInputModel}. */
export interface BroadcastInputOptions {
  /** features of `x` and `y` @default 8 */
  features?: number
  /** features of each layer's state @default 16 */
  hidden?: number
  /** recurrent layers, at least 1; also the first dimension of `state` @default 4 */
  layers?: number
  /** PRNG seed @default 1 */
  seed?: number
}

/**
 * A stacked recurrent cell with broadcast and non-zero-axis batched inputs,
 * for pipeline jobs whose inputs are not all batched on axis 0:
 *
 * - `x [batch, features]` (batched on axis 0),
 * - `scale []`, a float32 scalar (broadcast: the same for every item),
 * - `state [layers, batch, hidden]` (batched on axis 1, like an RNN state).
 *
 * Layer l reads its own state row and the scalar:
 * `h_l = Tanh(scale · (h_{l−1}·W_l + state[l]·U_l + b_l))` with `h_{−1} = x`.
 * Outputs: `y = h_{L−1}·W_out + scale · x` (`[batch, features]`) and
 * `state_out = stack(h_0 … h_{L−1})` (`[layers, batch, hidden]`), so every
 * stage of a 2- or 3-stage cut reads `scale` and `state`, and the earlier
 * layers' `h_l` pass through to the stage that stacks them. The batch
 * dimension is symbolic (`batch`) on `x`, `state`, `y` and `state_out`.
 *
 * @throws RangeError if `layers` is not an integer >= 1
 */
export function broadcastInputModel (options: BroadcastInputOptions = {}): Uint8Array {
  const random = rng(options.seed ?? 1)
  const d = options.features ?? 8
  const h = options.hidden ?? 16
  const layers = options.layers ?? 4
  if (!Number.isInteger(layers) || layers < 1) throw new RangeError(`broadcastInputModel needs layers >= 1 (an integer), got ${layers}`)
  const nodes: onnxProto.onnx.INodeProto[] = []
  const init: onnxProto.onnx.ITensorProto[] = [int64Vector('axis0', [0])]
  let prev = 'x'
  let width = d
  const stacked: string[] = []
  for (let l = 0; l < layers; l++) {
    init.push(
      int64Scalar(`row${l}`, l),
      weights(`w${l}`, [width, h], random, 1 / Math.sqrt(width)),
      weights(`u${l}`, [h, h], random, 1 / Math.sqrt(h)),
      weights(`b${l}`, [h], random, 0.1)
    )
    nodes.push(
      { opType: 'Gather', input: ['state', `row${l}`], output: [`s${l}`], name: `state_row${l}`, attribute: [{ name: 'axis', type: 2, i: 0 }] },
      { opType: 'MatMul', input: [prev, `w${l}`], output: [`xw${l}`], name: `matmul_w${l}` },
      { opType: 'MatMul', input: [`s${l}`, `u${l}`], output: [`su${l}`], name: `matmul_u${l}` },
      { opType: 'Add', input: [`xw${l}`, `su${l}`], output: [`pre${l}`], name: `add_state${l}` },
      { opType: 'Add', input: [`pre${l}`, `b${l}`], output: [`biased${l}`], name: `add_bias${l}` },
      { opType: 'Mul', input: [`biased${l}`, 'scale'], output: [`scaled${l}`], name: `mul_scale${l}` },
      { opType: 'Tanh', input: [`scaled${l}`], output: [`h${l}`], name: `tanh${l}` },
      { opType: 'Unsqueeze', input: [`h${l}`, 'axis0'], output: [`stack${l}`], name: `unsqueeze${l}` }
    )
    stacked.push(`stack${l}`)
    prev = `h${l}`
    width = h
  }
  init.push(weights('w_out', [h, d], random, 1 / Math.sqrt(h)))
  nodes.push(
    { opType: 'MatMul', input: [prev, 'w_out'], output: ['out'], name: 'matmul_out' },
    { opType: 'Mul', input: ['x', 'scale'], output: ['x_scaled'], name: 'mul_skip' },
    { opType: 'Add', input: ['out', 'x_scaled'], output: ['y'], name: 'add_out' },
    { opType: 'Concat', input: stacked, output: ['state_out'], name: 'stack_state', attribute: [{ name: 'axis', type: 2, i: 0 }] }
  )
  return model({
    name: 'broadcast_input_rnn',
    node: nodes,
    initializer: init,
    input: [floatInput('x', ['batch', d]), floatInput('scale', []), floatInput('state', [layers, 'batch', h])],
    output: [floatInput('y', ['batch', d]), floatInput('state_out', [layers, 'batch', h])]
  })
}

/** Options of {@link expandOutputModel}. */
export interface ExpandOutputOptions {
  /** elements of the output, float32 (4 bytes each) */
  elements: number
}

/**
 * A model whose output is far larger than its input or its file, the shape
 * an attacker uses to make a worker allocate memory: `x [1]` (float32)
 * expanded to `y [elements]` by one Expand node, the target shape a
 * 1-element int64 initializer. 75 × 2^20 elements make a 300 MiB output
 * from a file of about 150 bytes.
 *
 * @throws RangeError if `elements` is not a positive integer
 */
export function expandOutputModel (options: ExpandOutputOptions): Uint8Array {
  const n = options.elements
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`expandOutputModel needs elements >= 1 (an integer), got ${n}`)
  return model({
    name: 'expand_output',
    node: [{ opType: 'Expand', input: ['x', 'shape'], output: ['y'], name: 'expand' }],
    initializer: [int64Vector('shape', [n])],
    input: [floatInput('x', [1])],
    output: [floatInput('y', [n])]
  })
}
