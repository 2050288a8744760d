import { NpyError } from './errors.js'
import type { TensorData, TensorDType } from '@fleetmesh/protocol'

/**
 * A small reader and writer of NumPy `.npy` files (format versions 1, 2
 * and 3), little-endian, C order, for the dtypes jobs use: float32,
 * float64, int32, int64, uint8 (and bool, as uint8).
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY

/** `descr` of each supported dtype. */
const DESCR: Partial<Record<TensorDType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  bool: '|b1'
}

const FROM_DESCR: Record<string, TensorDType> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i4': 'int32',
  '<i8': 'int64',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|b1': 'bool'
}

const BYTES: Partial<Record<TensorDType, number>> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 }

/** An array read from or written to a `.npy` file. */
export interface NpyArray {
  dtype: TensorDType
  /** shape; [] for a scalar */
  shape: number[]
  data: TensorData
}

/** The dtypes {@link readNpy} and {@link writeNpy} support. */
export const NPY_DTYPES: readonly TensorDType[] = Object.keys(DESCR) as TensorDType[]

function typed (dtype: TensorDType, buffer: ArrayBuffer, count: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, 0, count)
    case 'float64': return new Float64Array(buffer, 0, count)
    case 'int32': return new Int32Array(buffer, 0, count)
    case 'int64': return new BigInt64Array(buffer, 0, count)
    default: return new Uint8Array(buffer, 0, count)
  }
}

/**
 * Parses a `.npy` file.
 *
 * @param bytes - the file's bytes
 * @param name - shown in error messages (e.g. the file name) @default 'array'
 * @throws NpyError if it is not a `.npy` file, is truncated, is big-endian or Fortran-ordered, or holds an unsupported dtype
 */
export function readNpy (bytes: Uint8Array, name = 'array'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError(`${name} is not a .npy file (no \\x93NUMPY magic); save it with numpy.save()`)
  const major = bytes[6] as number
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let headerLen: number
  let offset: number
  if (major === 1) {
    headerLen = view.getUint16(8, true)
    offset = 10
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${name}: .npy header is truncated`)
    headerLen = view.getUint32(8, true)
    offset = 12
  } else {
    throw new NpyError(`${name}: .npy format version ${major} is not supported (1, 2 or 3)`)
  }
  if (offset + headerLen > bytes.length) throw new NpyError(`${name}: .npy header is truncated (${headerLen} bytes announced, ${bytes.length - offset} present)`)
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(offset, offset + headerLen))
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1]
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr == null || fortran == null || shapeText == null) throw new NpyError(`${name}: .npy header is malformed (need descr, fortran_order and shape): ${header.trim().slice(0, 120)}`)
  if (fortran === 'True') throw new NpyError(`${name}: Fortran-ordered arrays are not supported; save a C-ordered copy (numpy.ascontiguousarray)`)
  const dtype = FROM_DESCR[descr]
  if (dtype == null) {
    const hint = descr.startsWith('>') ? ' (big-endian: convert with arr.astype(arr.dtype.newbyteorder("<")))' : ''
    throw new NpyError(`${name}: dtype ${descr} is not supported${hint}; use one of float32, float64, int32, int64, uint8`)
  }
  const shape = shapeText.split(',').map(s => s.trim()).filter(s => s !== '').map(s => {
    const n = Number(s.replace(/L$/, ''))
    if (!Number.isSafeInteger(n) || n < 0) throw new NpyError(`${name}: .npy shape (${shapeText}) has a bad dimension ${JSON.stringify(s)}`)
    return n
  })
  const count = shape.reduce((a, b) => a * b, 1)
  const width = BYTES[dtype] as number
  const dataStart = offset + headerLen
  const need = count * width
  if (bytes.length - dataStart < need) throw new NpyError(`${name}: .npy data is truncated: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes, the file has ${bytes.length - dataStart}`)
  // copy into an aligned buffer of its own
  const buffer = new ArrayBuffer(need)
  new Uint8Array(buffer).set(bytes.subarray(dataStart, dataStart + need))
  return { dtype, shape, data: typed(dtype, buffer, count) }
}

/**
 * Writes a `.npy` file (format 1.0, or 2.0 for a header over 64 KiB), C order, little-endian.
 *
 * @throws NpyError on an unsupported dtype or a shape that does not match the data's length
 */
export function writeNpy (array: NpyArray): Uint8Array {
  const descr = DESCR[array.dtype]
  if (descr == null) throw new NpyError(`cannot write dtype ${array.dtype} as .npy; supported: ${NPY_DTYPES.join(', ')}`)
  const count = array.shape.reduce((a, b) => a * b, 1)
  if (count !== array.data.length) throw new NpyError(`shape (${array.shape.join(', ')}) has ${count} elements but the data has ${array.data.length}`)
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`
  let major = 1
  let prefix = 10
  if (header.length + 11 > 65535) { major = 2; prefix = 12 }
  const pad = (64 - ((prefix + header.length + 1) % 64)) % 64
  header = header + ' '.repeat(pad) + '\n'
  const dataBytes = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)
  const out = new Uint8Array(prefix + header.length + dataBytes.byteLength)
  out.set(MAGIC, 0)
  out[6] = major
  out[7] = 0
  const view = new DataView(out.buffer)
  if (major === 1) view.setUint16(8, header.length, true)
  else view.setUint32(8, header.length, true)
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i)
  out.set(dataBytes, prefix + header.length)
  return out
}
