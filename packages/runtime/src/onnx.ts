import onnxProto from 'onnx-proto'
import { InvalidModelError } from './errors.js'

/** The ONNX protobuf namespace (onnx-proto is CommonJS: default import, then `.onnx`). */
export const onnx = onnxProto.onnx
export type ModelProto = onnxProto.onnx.ModelProto
export type GraphProto = onnxProto.onnx.IGraphProto
export type NodeProto = onnxProto.onnx.INodeProto
export type TensorProto = onnxProto.onnx.ITensorProto
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto

/**
 * Parses ONNX model bytes.
 *
 * @throws InvalidModelError if the bytes are not an ONNX ModelProto with a graph
 */
export function decodeModel (bytes: Uint8Array): ModelProto {
  let model: ModelProto
  try {
    model = onnx.ModelProto.decode(bytes)
  } catch (err: any) {
    throw new InvalidModelError(`bytes are not an ONNX model (${err?.message ?? err}); send the .onnx file itself`)
  }
  if (model.graph == null || (model.graph.node ?? []).length === 0) {
    throw new InvalidModelError('ONNX model has no graph or an empty graph')
  }
  return model
}

/** Serialises a model. */
export function encodeModel (model: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish()
}

/** ONNX TensorProto.DataType code → onnxruntime dtype name (undefined for types not carried). */
export const ONNX_DTYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64'
}

/** Bytes per element of an ONNX data type code (0 if variable or unknown). */
export const ONNX_DTYPE_BYTES: Record<number, number> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2
}

/** Number of bytes an initializer holds (raw or typed fields). */
export function tensorByteLength (t: TensorProto): number {
  if (t.rawData != null && t.rawData.length > 0) return t.rawData.length
  const dims = (t.dims ?? []).map(Number)
  const n = dims.reduce((a, b) => a * b, 1)
  return n * (ONNX_DTYPE_BYTES[t.dataType ?? 0] ?? 4)
}
