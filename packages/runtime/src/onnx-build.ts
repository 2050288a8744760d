import { encodeModel, onnx } from './onnx.js'
import type onnxProto from 'onnx-proto'

/**
 * Building blocks of the generated ONNX graphs (generate.ts,
 * generate-decoder.ts, generate-recurrent.ts): a seeded PRNG for the
 * weights, initializers, value infos and the model envelope. Internal to
 * the runtime package.
 */

/** mulberry32: a small seeded PRNG (Tommy Ettinger, public domain). */
export function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A float32 initializer of `dims`, each element uniform in (−scale, scale) from `random`. */
export function weights (name: string, dims: number[], random: () => number, scale: number): onnxProto.onnx.TensorProto {
  const n = dims.reduce((a, b) => a * b, 1)
  const data = Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale)
  return onnx.TensorProto.create({ name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) })
}

/** A value info of ONNX element type `elemType` (1 float32, 7 int64, …); a string dim is a `dim_param` (symbolic). */
export function tensorInfo (name: string, elemType: number, dims: Array<number | string>): onnxProto.onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map(d => typeof d === 'number' ? { dimValue: d } : { dimParam: d }) } } }
  })
}

/** A float32 value info; a string dim is a `dim_param` (symbolic). */
export function floatInput (name: string, dims: Array<number | string>): onnxProto.onnx.ValueInfoProto {
  return tensorInfo(name, 1, dims)
}

/** The model bytes of `graph` (IR version 8, default domain at `opset`). */
export function model (graph: onnxProto.onnx.IGraphProto, opset = 13): Uint8Array {
  return encodeModel(onnx.ModelProto.create({ irVersion: 8, producerName: 'fleetmesh-generate', opsetImport: [{ domain: '', version: opset }], graph }))
}

/** An int64 scalar initializer. */
export function int64Scalar (name: string, value: number): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims: [], dataType: 7, rawData: new Uint8Array(BigInt64Array.of(BigInt(value)).buffer) })
}

/** A 1-D int64 initializer. */
export function int64Vector (name: string, values: number[]): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: 7, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) })
}

/** A float32 scalar initializer. */
export function floatScalar (name: string, value: number): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims: [], dataType: 1, rawData: new Uint8Array(Float32Array.of(value).buffer) })
}

/** A float32 initializer filled with `value`. */
export function filled (name: string, dims: number[], value: number): onnxProto.onnx.TensorProto {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value)
  return onnx.TensorProto.create({ name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) })
}
