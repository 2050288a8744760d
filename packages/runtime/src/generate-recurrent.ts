import { floatInput, int64Vector, model, rng, weights } from './onnx-build.js'
import type { StatePair } from './state.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * A recurrent model generated in code, for stateful sessions that stream a
 * sequence chunk by chunk: one ONNX GRU whose hidden state is a graph
 * input (`h_in`) and a graph output (`h_out`).
 *
 * Graph (opset 14): `x` float32 `[1, chunk, features]` → Transpose to
 * `[chunk, 1, features]` (onnxruntime's CPU GRU takes the sequence-first
 * layout only) → GRU (`initial_h` = `h_in`, linear_before_reset = 1, the
 * cuDNN / PyTorch variant) → `y` float32 `[1, chunk, hidden]` (every
 * step's hidden state) and `h_out` float32 `[1, 1, hidden]` (the last).
 * Symbolic dim: `chunk`. Running chunks one after another with `h_out`
 * fed back as `h_in` gives the same `y` as one run over the whole
 * sequence. Weights come from a seeded PRNG (mulberry32).
 */

/** Options of {@link generateGru}. */
export interface GruOptions {
  /** features of each input step @default 8 */
  features?: number
  /** width of the hidden state @default 32 */
  hidden?: number
  /** PRNG seed @default 1 */
  seed?: number
}

/** The GRU's state pair: `h_out` → `h_in`. */
export const GRU_STATE_PAIRS: readonly StatePair[] = Object.freeze([{ output: 'h_out', input: 'h_in' }])

/**
 * Generates the GRU model's ONNX bytes.
 *
 * @throws RangeError if a size is not a positive integer
 */
export function generateGru (options: GruOptions = {}): Uint8Array {
  const features = options.features ?? 8
  const hidden = options.hidden ?? 32
  for (const [name, v] of Object.entries({ features, hidden })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`generateGru needs ${name} >= 1 (an integer), got ${v}`)
  }
  const random = rng(options.seed ?? 1)
  const scale = 1 / Math.sqrt(hidden)
  return model({
    name: 'gru',
    node: [
      { opType: 'Transpose', input: ['x'], output: ['x_seq_first'], name: 'x_seq_first', attribute: [{ name: 'perm', type: 7, ints: [1, 0, 2] }] },
      {
        opType: 'GRU',
        input: ['x_seq_first', 'gru_w', 'gru_r', 'gru_b', '', 'h_in'],
        output: ['gru_y', 'h_out'],
        name: 'gru',
        attribute: [
          { name: 'hidden_size', type: 2, i: hidden },
          { name: 'linear_before_reset', type: 2, i: 1 }
        ]
      },
      { opType: 'Squeeze', input: ['gru_y', 'c_axis1'], output: ['gru_y_squeezed'], name: 'gru_y_squeezed' },
      { opType: 'Transpose', input: ['gru_y_squeezed'], output: ['y'], name: 'y_batch_first', attribute: [{ name: 'perm', type: 7, ints: [1, 0, 2] }] }
    ],
    initializer: [
      weights('gru_w', [1, 3 * hidden, features], random, scale),
      weights('gru_r', [1, 3 * hidden, hidden], random, scale),
      weights('gru_b', [1, 6 * hidden], random, scale),
      int64Vector('c_axis1', [1])
    ],
    input: [floatInput('x', [1, 'chunk', features]), floatInput('h_in', [1, 1, hidden])],
    output: [floatInput('y', [1, 'chunk', hidden]), floatInput('h_out', [1, 1, hidden])]
  }, 14)
}

/**
 * The GRU's state before the first chunk: zeros, float32 `[1, 1, hidden]`.
 *
 * @param options - the options the model was generated with (sizes only)
 */
export function gruInitialState (options: GruOptions = {}): WireTensor[] {
  const hidden = options.hidden ?? 32
  return [{ name: 'h_in', dtype: 'float32', dims: [1, 1, hidden], data: new Float32Array(hidden) }]
}
