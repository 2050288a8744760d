import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { typedArrayFor, DTYPE_BYTES } from '@fleetmesh/protocol'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type { Socket } from 'node:net'

/**
 * How tensors cross between the node and a runner. Node has no shared
 * memory between processes, so the closest is a file on tmpfs
 * (`/dev/shm`, RAM-backed): the sender writes each typed array's own memory
 * into the file (one kernel copy, no serialisation), the receiver reads the
 * file straight into one aligned buffer and makes the tensors views of it
 * (one kernel copy, no user-space copy). Only a small JSON header (file
 * name, names, dtypes, dims, offsets) travels over the socket pair.
 */

interface TensorEntry { name: string, dtype: TensorDType, dims: number[], offset: number, bytes: number }

/** tmpfs when the platform has one, else the temp directory. */
function exchangeRoot (): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}

/** Creates a private (0700) directory for one runner's exchange files. Remove it with {@link removeExchangeDir}. */
export function createExchangeDir (): string {
  return mkdtempSync(join(exchangeRoot(), 'fleetmesh-runner-'))
}

export function removeExchangeDir (dir: string): void {
  void closeExchangeFiles(dir)
  rmSync(dir, { recursive: true, force: true })
}

/** Open handles of exchange files, kept for the life of the process (one call at a time per file). */
const handles = new Map<string, FileHandle>()

async function handle (path: string): Promise<FileHandle> {
  let fh = handles.get(path)
  if (fh == null) {
    fh = await open(path, existsSync(path) ? 'r+' : 'w+', 0o600)
    handles.set(path, fh)
  }
  return fh
}

/** Closes the cached handles of a directory's files (when its runner is gone). */
export async function closeExchangeFiles (dir: string): Promise<void> {
  for (const [path, fh] of handles) {
    if (path.startsWith(dir)) {
      handles.delete(path)
      await fh.close().catch(() => {})
    }
  }
}

const ALIGN = 8 // every dtype's element size divides 8, so views at 8-byte offsets are aligned

/** Sends one message: tensors into `<dir>/<file>` (overwritten in place), then the header over the socket. */
export async function sendTensors (socket: Socket, dir: string, file: string, fields: Record<string, unknown>, tensors: WireTensor[]): Promise<void> {
  const entries: TensorEntry[] = []
  let offset = 0
  for (const t of tensors) {
    entries.push({ name: t.name, dtype: t.dtype, dims: t.dims, offset, bytes: t.data.byteLength })
    offset += Math.ceil(t.data.byteLength / ALIGN) * ALIGN
  }
  if (tensors.length > 0) {
    // the same file is overwritten in place, keeping its pages
    const fh = await handle(join(dir, file))
    if (tensors.length === 1) {
      const t = tensors[0] as WireTensor
      await fh.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 0, t.data.byteLength, 0)
    } else {
      await fh.writev(tensors.flatMap((t, i) => {
        const pad = (entries[i + 1]?.offset ?? offset) - (entries[i]?.offset ?? 0) - t.data.byteLength
        const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
        return pad > 0 ? [view, new Uint8Array(pad)] : [view]
      }), 0)
    }
  }
  const header = Buffer.from(JSON.stringify({ ...fields, file: tensors.length > 0 ? file : undefined, size: offset, tensors: entries }))
  const len = Buffer.alloc(4)
  len.writeUInt32LE(header.byteLength)
  socket.write(Buffer.concat([len, header]))
}

/** Options of {@link receiveTensors}. */
export interface ReceiveOptions {
  /**
   * read every message into one buffer that is reused (grown when needed):
   * no fresh pages to fault in per call. Only for a receiver that is done
   * with a message's tensors before the next arrives (the runner).
   */
  reuseBuffer?: boolean
}

/**
 * Receives messages in order and reads each one's tensor file. Files are
 * overwritten in place by the next message rather than deleted: reusing
 * tmpfs pages is measurably cheaper than allocating new ones on this class
 * of machine (16.8 MB: ~9 ms to write a new file, ~20 ms to read it into
 * fresh memory).
 */
export function receiveTensors (socket: Socket, dir: string, onMessage: (fields: Record<string, any>, tensors: WireTensor[]) => void, onError: (err: Error) => void, options: ReceiveOptions = {}): void {
  let pending: Buffer = Buffer.alloc(0)
  let pool = new ArrayBuffer(0)
  let chain: Promise<void> = Promise.resolve()
  socket.on('data', (chunk: Buffer) => {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]) as Buffer<ArrayBuffer>
    while (pending.byteLength >= 4) {
      const len = pending.readUInt32LE(0)
      if (pending.byteLength < 4 + len) return
      const header = JSON.parse(pending.subarray(4, 4 + len).toString('utf8')) as Record<string, any> & { file?: string, size: number, tensors: TensorEntry[] }
      pending = pending.subarray(4 + len)
      chain = chain.then(async () => {
        let tensors: WireTensor[] = []
        if (header.file != null) {
          const path = join(dir, header.file)
          let buffer: ArrayBuffer
          if (options.reuseBuffer === true) {
            if (pool.byteLength < header.size) pool = new ArrayBuffer(header.size)
            buffer = pool
          } else {
            buffer = new ArrayBuffer(header.size)
          }
          const fh = await handle(path)
          await fh.read(new Uint8Array(buffer, 0, header.size), 0, header.size, 0)
          tensors = header.tensors.map(e => {
            const Ctor = typedArrayFor(e.dtype)
            return { name: e.name, dtype: e.dtype, dims: e.dims, data: new Ctor(buffer, e.offset, e.bytes / (DTYPE_BYTES[e.dtype] ?? 1)) }
          })
        }
        const { file: _file, size: _size, tensors: _entries, ...fields } = header
        onMessage(fields, tensors)
      }).catch(onError)
    }
  })
}
