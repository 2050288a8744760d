import { InvalidTensorError, MessageTooLargeError } from './errors.js'
import { MAX_TENSOR_BYTES } from './limits.js'
import { Tensor as PbTensor, TensorList as PbTensorList } from './pb/tensor.js'

/**
 * Tensor wire format: a name, an ONNX element type, a shape and the raw
 * little-endian bytes of the elements in row-major order (the layout of
 * ONNX `TensorProto.raw_data` and of onnxruntime's typed arrays on
 * little-endian hosts). Strings are not carried.
 */

/** Element types carried on the wire, named as onnxruntime names them. */
export type TensorDType = 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool'

/** ONNX `TensorProto.DataType` code of each element type (onnx.proto3). */
export const DTYPE_CODES: Readonly<Record<TensorDType, number>> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13
}

/** Bytes per element of each element type. */
export const DTYPE_BYTES: Readonly<Record<TensorDType, number>> = {
  float32: 4, float16: 2, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1
}

const CODE_TO_DTYPE = new Map<number, TensorDType>(Object.entries(DTYPE_CODES).map(([k, v]) => [v, k as TensorDType]))

/** The typed array that holds each element type (onnxruntime-node's convention; float16 as raw uint16 bits, bool as uint8). */
export type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array

/** A tensor in memory. */
export interface WireTensor {
  name: string
  dtype: TensorDType
  /** shape; [] for a scalar */
  dims: number[]
  data: TensorData
}

/** The ONNX element type code for a dtype name; undefined if not carried. */
export function dtypeFromCode (code: number): TensorDType | undefined {
  return CODE_TO_DTYPE.get(code)
}

/** Number of elements of a shape (1 for a scalar). @throws InvalidTensorError on a negative or non-integer dimension */
export function elementCount (dims: readonly number[]): number {
  let n = 1
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new InvalidTensorError(`dimension ${d} is not a non-negative integer`)
    n *= d
  }
  if (!Number.isSafeInteger(n)) throw new InvalidTensorError(`shape [${dims.join(', ')}] has too many elements`)
  return n
}

/** Typed array constructor for a dtype. */
export function typedArrayFor (dtype: TensorDType): new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => TensorData {
  switch (dtype) {
    case 'float32': return Float32Array
    case 'float64': return Float64Array
    case 'int8': return Int8Array
    case 'uint8': case 'bool': return Uint8Array
    case 'int16': return Int16Array
    case 'uint16': case 'float16': return Uint16Array
    case 'int32': return Int32Array
    case 'uint32': return Uint32Array
    case 'int64': return BigInt64Array
    case 'uint64': return BigUint64Array
  }
}

/**
 * Checks a tensor's dtype, shape and data length.
 *
 * @throws InvalidTensorError naming the tensor and what is wrong
 * @throws MessageTooLargeError if over `maxBytes`
 */
export function checkTensor (t: WireTensor, maxBytes = MAX_TENSOR_BYTES): void {
  if (DTYPE_BYTES[t.dtype] == null) throw new InvalidTensorError(`tensor "${t.name}" has unsupported dtype ${String(t.dtype)}; use one of ${Object.keys(DTYPE_BYTES).join(', ')}`)
  const n = elementCount(t.dims)
  const bytes = n * DTYPE_BYTES[t.dtype]
  if (bytes > maxBytes) throw new MessageTooLargeError(`tensor "${t.name}"`, bytes, maxBytes)
  const Ctor = typedArrayFor(t.dtype)
  if (!(t.data instanceof Ctor) || t.data.length !== n) {
    throw new InvalidTensorError(`tensor "${t.name}" of ${t.dtype} [${t.dims.join(', ')}] needs ${n} elements in a ${Ctor.name}, got ${t.data.constructor.name}(${t.data.length})`)
  }
}

function toPb (t: WireTensor, maxBytes: number): PbTensor {
  checkTensor(t, maxBytes)
  return {
    name: t.name,
    dtype: DTYPE_CODES[t.dtype],
    dims: t.dims.map(BigInt),
    data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) as Uint8Array<ArrayBuffer>
  }
}

function fromPb (pb: PbTensor, maxBytes: number): WireTensor {
  const dtype = dtypeFromCode(pb.dtype)
  if (dtype == null) throw new InvalidTensorError(`tensor "${pb.name}" has unknown dtype code ${pb.dtype}`)
  const dims = pb.dims.map(d => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidTensorError(`tensor "${pb.name}" has dimension ${d}`)
    return Number(d)
  })
  const n = elementCount(dims)
  const bytes = n * DTYPE_BYTES[dtype]
  if (bytes > maxBytes) throw new MessageTooLargeError(`tensor "${pb.name}"`, bytes, maxBytes)
  if (pb.data.byteLength !== bytes) {
    throw new InvalidTensorError(`tensor "${pb.name}" of ${dtype} [${dims.join(', ')}] needs ${bytes} bytes, got ${pb.data.byteLength}`)
  }
  // copy into an aligned buffer of its own (the wire bytes may sit at any offset)
  const buf = new ArrayBuffer(bytes)
  new Uint8Array(buf).set(pb.data)
  const Ctor = typedArrayFor(dtype)
  return { name: pb.name, dtype, dims, data: new Ctor(buf, 0, n) }
}

/** Encodes one tensor. @throws InvalidTensorError, MessageTooLargeError */
export function encodeTensor (t: WireTensor, maxBytes = MAX_TENSOR_BYTES): Uint8Array<ArrayBuffer> {
  return PbTensor.encode(toPb(t, maxBytes))
}

/** Decodes one tensor. @throws InvalidTensorError, MessageTooLargeError */
export function decodeTensor (bytes: Uint8Array, maxBytes = MAX_TENSOR_BYTES): WireTensor {
  if (bytes.byteLength > maxBytes + 1024) throw new MessageTooLargeError('tensor frame', bytes.byteLength, maxBytes + 1024)
  let pb: PbTensor
  try {
    pb = PbTensor.decode(bytes)
  } catch (err: any) {
    throw new InvalidTensorError(`bytes are not a tensor: ${err?.message ?? err}`)
  }
  return fromPb(pb, maxBytes)
}

/** Encodes named tensors (a model's inputs or outputs). @throws InvalidTensorError, MessageTooLargeError */
export function encodeTensors (tensors: WireTensor[], maxBytes = MAX_TENSOR_BYTES): Uint8Array<ArrayBuffer> {
  return PbTensorList.encode({ tensors: tensors.map(t => toPb(t, maxBytes)) })
}

/** Decodes named tensors. @throws InvalidTensorError, MessageTooLargeError */
export function decodeTensors (bytes: Uint8Array, maxBytes = MAX_TENSOR_BYTES): WireTensor[] {
  let pb: PbTensorList
  try {
    pb = PbTensorList.decode(bytes)
  } catch (err: any) {
    throw new InvalidTensorError(`bytes are not a tensor list: ${err?.message ?? err}`)
  }
  let total = 0
  return pb.tensors.map(t => {
    total += t.data.byteLength
    if (total > maxBytes) throw new MessageTooLargeError('tensor list', total, maxBytes)
    return fromPb(t, maxBytes)
  })
}

/**
 * Tensors as a header and raw bytes (the infer protocol's framing): the
 * header is a TensorList whose tensors carry name, dtype and dims but no
 * data; the payload is each tensor's bytes as they are in memory, in
 * order, with no copy and no re-encoding.
 *
 * @returns the encoded header, the payload views and their total length
 * @throws InvalidTensorError, MessageTooLargeError (total over `maxBytes`)
 */
export function encodeTensorHeader (tensors: WireTensor[], maxBytes = MAX_TENSOR_BYTES): { header: Uint8Array<ArrayBuffer>, payload: Uint8Array[], payloadBytes: number } {
  let total = 0
  const payload: Uint8Array[] = []
  const meta = tensors.map(t => {
    checkTensor(t, maxBytes)
    total += t.data.byteLength
    if (total > maxBytes) throw new MessageTooLargeError('tensor list', total, maxBytes)
    payload.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
    return { name: t.name, dtype: DTYPE_CODES[t.dtype], dims: t.dims.map(BigInt), data: new Uint8Array(0) }
  })
  return { header: PbTensorList.encode({ tensors: meta }), payload, payloadBytes: total }
}

/** One tensor's place in a payload, from {@link decodeTensorHeader}. */
export interface TensorSlot {
  name: string
  dtype: TensorDType
  dims: number[]
  /** bytes of this tensor in the payload */
  bytes: number
}

/**
 * Decodes a tensor header: what each tensor is and how many payload bytes
 * it takes, so a reader knows the payload's length before it buffers it.
 *
 * @throws InvalidTensorError on a malformed header, MessageTooLargeError when the payload would exceed `maxBytes`
 */
export function decodeTensorHeader (header: Uint8Array, maxBytes = MAX_TENSOR_BYTES): { slots: TensorSlot[], payloadBytes: number } {
  let pb: PbTensorList
  try {
    pb = PbTensorList.decode(header, { limits: { tensors: 1024 } } as any)
  } catch (err: any) {
    throw new InvalidTensorError(`bytes are not a tensor header: ${err?.message ?? err}`)
  }
  let total = 0
  const slots = pb.tensors.map(t => {
    const dtype = dtypeFromCode(t.dtype)
    if (dtype == null) throw new InvalidTensorError(`tensor "${t.name}" has unknown dtype code ${t.dtype}`)
    const dims = t.dims.map(d => {
      if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidTensorError(`tensor "${t.name}" has dimension ${d}`)
      return Number(d)
    })
    const bytes = elementCount(dims) * DTYPE_BYTES[dtype]
    total += bytes
    if (total > maxBytes) throw new MessageTooLargeError('tensor list', total, maxBytes)
    return { name: t.name, dtype, dims, bytes }
  })
  return { slots, payloadBytes: total }
}

/**
 * Builds tensors over payload bytes: a typed array straight over the
 * received bytes when they sit in one chunk at an offset the element type
 * allows, else one copy into an aligned buffer.
 *
 * @param chunks - the payload, in order (e.g. `Uint8ArrayList` chunks), exactly the slots' total length
 * @throws InvalidTensorError when the payload length does not match
 */
export function tensorsFromPayload (slots: TensorSlot[], chunks: Uint8Array[]): WireTensor[] {
  let chunk = 0
  let at = 0
  const take = (n: number): Uint8Array => {
    const first = chunks[chunk]
    if (first != null && first.byteLength - at >= n) {
      const view = first.subarray(at, at + n)
      at += n
      if (at === first.byteLength) { chunk++; at = 0 }
      return view
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const c = chunks[chunk]
      if (c == null) throw new InvalidTensorError(`tensor payload ends ${n - filled} bytes short`)
      const k = Math.min(n - filled, c.byteLength - at)
      out.set(c.subarray(at, at + k), filled)
      filled += k
      at += k
      if (at === c.byteLength) { chunk++; at = 0 }
    }
    return out
  }
  const tensors = slots.map(s => {
    const bytes = take(s.bytes)
    const size = DTYPE_BYTES[s.dtype]
    const Ctor = typedArrayFor(s.dtype)
    if (bytes.byteOffset % size === 0) return { name: s.name, dtype: s.dtype, dims: s.dims, data: new Ctor(bytes.buffer, bytes.byteOffset, s.bytes / size) }
    const aligned = new Uint8Array(s.bytes)
    aligned.set(bytes)
    return { name: s.name, dtype: s.dtype, dims: s.dims, data: new Ctor(aligned.buffer, 0, s.bytes / size) }
  })
  if (chunk < chunks.length && !(chunk === chunks.length - 1 && at === (chunks[chunk] as Uint8Array).byteLength)) {
    const left = chunks.slice(chunk).reduce((a, c) => a + c.byteLength, 0) - at
    if (left > 0) throw new InvalidTensorError(`tensor payload has ${left} bytes beyond its header`)
  }
  return tensors
}
