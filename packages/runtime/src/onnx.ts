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

/** Data types whose elements are 4 bits, two to a byte (INT4, UINT4, FLOAT4E2M1). */
const FOUR_BIT = new Set([21, 22, 23])

/** Bytes per element in `raw_data` of each fixed-size ONNX data type (onnx.proto: TensorProto.DataType), 4-bit types aside. */
const RAW_ELEMENT_BYTES: Record<number, number> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1
}

/** The typed field that holds each data type's values when `raw_data` is empty, and how many entries one element takes (onnx.proto). */
const TYPED_FIELDS: Record<number, { field: 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data' | 'stringData', perElement: number }> = {
  1: { field: 'floatData', perElement: 1 },
  14: { field: 'floatData', perElement: 2 }, // complex64: real, imaginary
  2: { field: 'int32Data', perElement: 1 },
  3: { field: 'int32Data', perElement: 1 },
  4: { field: 'int32Data', perElement: 1 },
  5: { field: 'int32Data', perElement: 1 },
  6: { field: 'int32Data', perElement: 1 },
  9: { field: 'int32Data', perElement: 1 },
  10: { field: 'int32Data', perElement: 1 }, // float16 bits
  16: { field: 'int32Data', perElement: 1 }, // bfloat16 bits
  17: { field: 'int32Data', perElement: 1 },
  18: { field: 'int32Data', perElement: 1 },
  19: { field: 'int32Data', perElement: 1 },
  20: { field: 'int32Data', perElement: 1 },
  7: { field: 'int64Data', perElement: 1 },
  11: { field: 'doubleData', perElement: 1 },
  15: { field: 'doubleData', perElement: 2 }, // complex128
  12: { field: 'uint64Data', perElement: 1 },
  13: { field: 'uint64Data', perElement: 1 },
  8: { field: 'stringData', perElement: 1 }
}

/** What a tensor's data holds against what its dims and data type declare. */
export interface TensorDataCheck {
  /** elements declared: the product of dims */
  elements: number
  /** bytes the data holds (raw_data length, typed entries × their size, or string lengths) */
  bytes: number
  /** what is wrong, or undefined when the data matches the declaration */
  mismatch?: string
}

/**
 * Compares a tensor's data with its declared dims and data type:
 * `raw_data` must hold exactly elements × element size bytes (4-bit types:
 * half a byte each, rounded up), or, without raw data, the data type's
 * typed field (`float_data`, `int32_data`, …) exactly as many entries as
 * the elements need (two per complex element, two 4-bit elements per
 * entry). Strings have no raw form: `string_data` holds one entry per
 * element. Pure: reads the decoded TensorProto only.
 */
export function checkTensorData (t: TensorProto): TensorDataCheck {
  const dims = (t.dims ?? []).map(Number)
  const bad = dims.find(d => !Number.isSafeInteger(d) || d < 0)
  if (bad != null) return { elements: 0, bytes: 0, mismatch: `has dimension ${bad}, not a non-negative integer` }
  const elements = dims.reduce((a, b) => a * b, 1)
  if (!Number.isSafeInteger(elements)) return { elements: 0, bytes: 0, mismatch: `declares [${dims.join(', ')}], too many elements` }
  const type = t.dataType ?? 0
  const typed = TYPED_FIELDS[type] ?? (FOUR_BIT.has(type) ? { field: 'int32Data' as const, perElement: 0.5 } : undefined)
  if (typed == null) return { elements, bytes: 0, mismatch: `has data type ${type}, which ONNX does not define` }
  const declared = `[${dims.join(', ')}] of ${ONNX_DTYPES[type] ?? `data type ${type}`}`
  const raw = t.rawData?.length ?? 0
  if (type === 8) {
    const strings = t.stringData ?? []
    const bytes = strings.reduce((a, s) => a + s.length, 0)
    if (raw > 0) return { elements, bytes: raw, mismatch: `holds ${raw} bytes of raw_data; strings are carried in string_data only` }
    return strings.length === elements ? { elements, bytes } : { elements, bytes, mismatch: `holds ${strings.length} strings, ${declared} needs ${elements}` }
  }
  const rawBytes = FOUR_BIT.has(type) ? Math.ceil(elements / 2) : elements * (RAW_ELEMENT_BYTES[type] as number)
  if (raw > 0) {
    return raw === rawBytes ? { elements, bytes: raw } : { elements, bytes: raw, mismatch: `holds ${raw} bytes of raw_data, ${declared} needs ${rawBytes}` }
  }
  const entries = (t[typed.field] ?? []).length
  const needed = Math.ceil(elements * typed.perElement)
  if (entries !== needed) {
    return { elements, bytes: rawBytes, mismatch: `holds ${entries} entries in ${PROTO_NAMES[typed.field] ?? typed.field} and no raw_data, ${declared} needs ${needed}` }
  }
  return { elements, bytes: rawBytes }
}

/** onnx.proto's name of each typed field, for messages. */
const PROTO_NAMES: Record<string, string> = {
  floatData: 'float_data', int32Data: 'int32_data', int64Data: 'int64_data', doubleData: 'double_data', uint64Data: 'uint64_data', stringData: 'string_data'
}
