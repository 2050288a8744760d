import { typedArrayFor, DTYPE_BYTES } from '@fleetmesh/protocol'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type { Socket } from 'node:net'

/**
 * Tensor frames between the node and a runner over a socket pair: a 4-byte
 * little-endian header length, a JSON header (message fields plus each
 * tensor's name, dtype, dims and byte length), then the tensors' raw bytes.
 * The sender writes the typed arrays' own memory (no serialisation copy);
 * the receiver copies each tensor once, from the socket's chunks into an
 * aligned buffer of its own. Node's structured-clone IPC copies each tensor
 * about four times; this path copies once in user space plus the kernel's
 * copy through the socket.
 */

interface TensorHeader { name: string, dtype: TensorDType, dims: number[], bytes: number }

/** Writes one message with its tensors. Returns once the socket has taken the bytes. */
export function writeFrame (socket: Socket, fields: Record<string, unknown>, tensors: WireTensor[]): void {
  const header = Buffer.from(JSON.stringify({ ...fields, tensors: tensors.map(t => ({ name: t.name, dtype: t.dtype, dims: t.dims, bytes: t.data.byteLength })) }))
  const len = Buffer.alloc(4)
  len.writeUInt32LE(header.byteLength)
  socket.cork()
  socket.write(len)
  socket.write(header)
  for (const t of tensors) socket.write(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))
  socket.uncork()
}

/** Reads frames from a socket and calls `onFrame` for each, in order. */
export function readFrames (socket: Socket, onFrame: (fields: Record<string, any>, tensors: WireTensor[]) => void): void {
  const chunks: Buffer[] = []
  let buffered = 0
  let header: (Record<string, any> & { tensors: TensorHeader[] }) | undefined
  let tensors: WireTensor[] = []
  let current: { meta: TensorHeader, target: Uint8Array, filled: number, buffer: ArrayBuffer } | undefined

  /** Removes and returns the first n buffered bytes (n small: a length or a header). */
  const take = (n: number): Buffer => {
    const out = Buffer.alloc(n)
    let at = 0
    while (at < n) {
      const c = chunks[0] as Buffer
      const k = Math.min(c.byteLength, n - at)
      c.copy(out, at, 0, k)
      at += k
      if (k === c.byteLength) chunks.shift(); else chunks[0] = c.subarray(k)
    }
    buffered -= n
    return out
  }
  const peekLength = (): number => {
    const first = chunks[0] as Buffer
    return first.byteLength >= 4 ? first.readUInt32LE(0) : Buffer.concat(chunks, Math.min(buffered, 8)).readUInt32LE(0)
  }
  const nextTensor = (): void => {
    const meta = header?.tensors[tensors.length]
    if (meta == null) {
      const done = header as Record<string, any>
      const got = tensors
      header = undefined
      tensors = []
      current = undefined
      onFrame(done, got)
      return
    }
    const buffer = new ArrayBuffer(meta.bytes)
    current = { meta, target: new Uint8Array(buffer), filled: 0, buffer }
  }

  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    buffered += chunk.byteLength
    while (true) {
      if (header == null) {
        if (buffered < 4) return
        const len = peekLength()
        if (buffered < 4 + len) return
        take(4)
        header = JSON.parse(take(len).toString('utf8'))
        tensors = []
        current = undefined
        nextTensor()
        continue
      }
      if (current == null) return
      // copy straight from the chunks into the tensor's own buffer
      while (chunks.length > 0 && current.filled < current.meta.bytes) {
        const c = chunks[0] as Buffer
        const n = Math.min(c.byteLength, current.meta.bytes - current.filled)
        current.target.set(c.subarray(0, n), current.filled)
        current.filled += n
        buffered -= n
        if (n === c.byteLength) chunks.shift(); else chunks[0] = c.subarray(n)
      }
      if (current.filled < current.meta.bytes) return
      const { meta, buffer } = current
      const Ctor = typedArrayFor(meta.dtype)
      tensors.push({ name: meta.name, dtype: meta.dtype, dims: meta.dims, data: new Ctor(buffer, 0, meta.bytes / (DTYPE_BYTES[meta.dtype] ?? 1)) })
      current = undefined
      nextTensor()
      if (header == null && buffered === 0) return
    }
  })
}
