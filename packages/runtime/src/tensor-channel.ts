import { closeSync, constants, existsSync, fstatSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, write as writeCb, writeFileSync, writeSync, writev as writevCb, writevSync, read as readCb } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DTYPE_BYTES, elementCount, typedArrayFor } from '@fleetmesh/protocol'
import { EXCHANGE_RETAIN_BYTES, EXCHANGE_SYNC_MAX_BYTES } from './constants.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type { Socket } from 'node:net'

/**
 * How tensors cross between the node and a runner. Node has no shared
 * memory between processes, so the closest is a file on tmpfs
 * (`/dev/shm`, RAM-backed). Each runner has a private directory with two
 * files, `in` (node → runner) and `out` (runner → node), that both
 * processes keep open for the runner's life. The sender writes each typed
 * array's own memory into its file at offset 0 (one kernel copy, no
 * serialisation, the file's pages reused from call to call), the receiver
 * reads the file straight into one buffer and makes the tensors views of
 * it. Only a small JSON header (names, dtypes, dims, offsets) travels over
 * the socket pair. Calls are strictly one at a time per runner, so a file
 * is never written while its reader still needs it.
 */

/** Where one tensor sits in a message's file. */
export interface TensorEntry { name: string, dtype: TensorDType, dims: number[], offset: number, bytes: number }

/** A message's header, as it travels over the socket. */
interface Header { file?: string, size: number, tensors: TensorEntry[], [field: string]: unknown }

/** The two exchange files of a runner. */
export type ExchangeFile = 'in' | 'out'

const FILES: ExchangeFile[] = ['in', 'out']
const ALIGN = 8 // every dtype's element size divides 8, so views at 8-byte offsets are aligned
const MAX_HEADER_BYTES = 1024 * 1024

const writeAsync = promisify(writeCb)
const writevAsync = promisify(writevCb)
const readAsync = promisify(readCb)

const EXCHANGE_PREFIX = 'fleetmesh-runner-'
const OWNER_FILE = 'owner'
/** An exchange directory without an owner file (made before there was one) is stale once it has not changed for this long, ms. */
const UNOWNED_STALE_MS = 3600 * 1000

/**
 * Removes the exchange directories whose node process is gone. A node and
 * its runner that die together (a process group or cgroup SIGKILLed, the
 * OOM killer) leave their directory behind, and on tmpfs its files hold
 * RAM (up to EXCHANGE_RETAIN_BYTES each, more after a call that was
 * running) until the machine restarts; a runner alone removes it when its
 * node dies, and a node when its runner does. Called by each
 * {@link Runtime}'s start. Directories of live processes, of other users
 * (not removable) and unreadable ones are left alone.
 *
 * @param root - where the directories are @default /dev/shm, else the temp directory
 * @returns the directories removed
 */
export function sweepStaleExchanges (root: string = exchangeRoot()): string[] {
  const removed: string[] = []
  let names: string[]
  try { names = readdirSync(root).filter(n => n.startsWith(EXCHANGE_PREFIX)) } catch { return removed }
  for (const name of names) {
    const dir = join(root, name)
    try {
      let stale: boolean
      try {
        const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'))
        stale = Number.isSafeInteger(owner) && owner > 0 && !processAlive(owner)
      } catch {
        stale = Date.now() - statSync(dir).mtimeMs > UNOWNED_STALE_MS
      }
      if (stale) {
        rmSync(dir, { recursive: true, force: true })
        removed.push(dir)
      }
    } catch {}
  }
  return removed
}

/** Whether a process with this pid exists (one of another user counts: EPERM). */
function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM'
  }
}

/** tmpfs when the platform has one, else the temp directory. */
function exchangeRoot (): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}

/** Options of a {@link TensorExchange}. */
export interface ExchangeOptions {
  /** messages up to this many tensor bytes use synchronous file I/O @default EXCHANGE_SYNC_MAX_BYTES */
  syncMaxBytes?: number
  /** a file over this size is truncated back to it once read @default EXCHANGE_RETAIN_BYTES */
  retainBytes?: number
}

/** What a receiver does with each message. */
export interface ReceiveHandlers {
  /**
   * The buffer to read a message's tensor bytes into (`size` bytes or
   * more; the tensors become views of it). Throw to refuse the message:
   * its file is not read and `refused` gets the error. `entries` are
   * already checked against `size`.
   */
  buffer: (size: number, fields: Record<string, any>, entries: readonly TensorEntry[]) => ArrayBuffer
  /** a message and its tensors, in the order sent */
  message: (fields: Record<string, any>, tensors: WireTensor[]) => void
  /** a message whose tensors were refused by `buffer` or did not fit their header */
  refused: (fields: Record<string, any>, err: Error) => void
  /** the socket carried something that is not a message, or a file could not be read */
  error: (err: Error) => void
}

/**
 * One side of a runner's tensor exchange: the node side creates the
 * directory and its files ({@link TensorExchange.create}), the runner
 * opens them ({@link TensorExchange.open}).
 */
export class TensorExchange {
  private readonly fds: Record<ExchangeFile, number>
  private readonly syncMaxBytes: number
  private readonly retainBytes: number
  private closed = false

  private constructor (readonly dir: string, options: ExchangeOptions) {
    this.syncMaxBytes = options.syncMaxBytes ?? EXCHANGE_SYNC_MAX_BYTES
    this.retainBytes = options.retainBytes ?? EXCHANGE_RETAIN_BYTES
    // O_RDWR | O_CREAT without O_TRUNC: whichever side opens first creates, neither truncates
    const flags = constants.O_RDWR | constants.O_CREAT
    this.fds = { in: openSync(join(dir, 'in'), flags, 0o600), out: openSync(join(dir, 'out'), flags, 0o600) }
  }

  /**
   * Creates a private (0700) directory with both exchange files, on tmpfs
   * where there is one, and an `owner` file naming this process (see
   * {@link sweepStaleExchanges}). Remove it with {@link TensorExchange.remove}.
   */
  static create (options: ExchangeOptions = {}): TensorExchange {
    const dir = mkdtempSync(join(exchangeRoot(), EXCHANGE_PREFIX))
    writeFileSync(join(dir, OWNER_FILE), String(process.pid), { mode: 0o600 })
    return new TensorExchange(dir, options)
  }

  /** Opens the files of a directory made by {@link TensorExchange.create} (the runner's side). */
  static open (dir: string, options: ExchangeOptions = {}): TensorExchange {
    return new TensorExchange(dir, options)
  }

  /** Current size of an exchange file, bytes. */
  fileSize (file: ExchangeFile): number {
    return fstatSync(this.fds[file]).size
  }

  /** Closes both files (idempotent). */
  close (): void {
    if (this.closed) return
    this.closed = true
    for (const f of FILES) {
      try { closeSync(this.fds[f]) } catch {}
    }
  }

  /** Closes the files and removes the directory. */
  remove (): void {
    this.close()
    rmSync(this.dir, { recursive: true, force: true })
  }

  /**
   * Sends one message: the tensors into `file` (overwritten in place from
   * offset 0), then the header over the socket. Synchronous when the
   * tensors hold at most `syncMaxBytes` (the returned promise is then
   * already settled).
   */
  async send (socket: Socket, file: ExchangeFile, fields: Record<string, unknown>, tensors: WireTensor[]): Promise<void> {
    const entries: TensorEntry[] = []
    let size = 0
    for (const t of tensors) {
      entries.push({ name: t.name, dtype: t.dtype, dims: t.dims, offset: size, bytes: t.data.byteLength })
      size += Math.ceil(t.data.byteLength / ALIGN) * ALIGN
    }
    if (tensors.length > 0) {
      const views = tensors.flatMap((t, i) => {
        const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
        const pad = (entries[i + 1]?.offset ?? size) - (entries[i] as TensorEntry).offset - t.data.byteLength
        return pad > 0 ? [view, new Uint8Array(pad)] : [view]
      })
      const fd = this.fds[file]
      if (size <= this.syncMaxBytes) {
        if (views.length === 1) writeSync(fd, views[0] as Uint8Array, 0, size, 0)
        else writevSync(fd, views, 0)
      } else if (views.length === 1) {
        await writeAsync(fd, views[0] as Uint8Array, 0, size, 0)
      } else {
        await writevAsync(fd, views, 0)
      }
    }
    const header = Buffer.from(JSON.stringify({ ...fields, file: tensors.length > 0 ? file : undefined, size, tensors: entries }))
    const frame = Buffer.allocUnsafe(4 + header.byteLength)
    frame.writeUInt32LE(header.byteLength, 0)
    header.copy(frame, 4)
    socket.write(frame)
  }

  /**
   * Receives messages from the socket in order and reads each one's tensor
   * file into the buffer `handlers.buffer` gives, after checking every
   * entry of the header (known dtype, bytes = elements × element size,
   * inside the message). A file over `retainBytes` is truncated back to it
   * once read, or once its message is refused.
   */
  receive (socket: Socket, handlers: ReceiveHandlers): void {
    let pending: Buffer = Buffer.alloc(0)
    let chain: Promise<void> = Promise.resolve()
    socket.on('data', (chunk: Buffer) => {
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.byteLength >= 4) {
        const len = pending.readUInt32LE(0)
        if (len > MAX_HEADER_BYTES) {
          handlers.error(new Error(`exchange header of ${len} bytes is over the ${MAX_HEADER_BYTES}-byte limit`))
          pending = Buffer.alloc(0)
          return
        }
        if (pending.byteLength < 4 + len) return
        let header: Header
        try {
          header = JSON.parse(pending.subarray(4, 4 + len).toString('utf8')) as Header
        } catch (err: any) {
          handlers.error(new Error(`exchange header is not JSON: ${err?.message ?? err}`))
          pending = Buffer.alloc(0)
          return
        }
        pending = pending.subarray(4 + len)
        // in order: a large message read asynchronously is delivered before the next
        chain = chain.then(async () => { await this.deliver(header, handlers) }).catch(handlers.error)
      }
    })
  }

  private async deliver (header: Header, handlers: ReceiveHandlers): Promise<void> {
    const { file, size, tensors: entries, ...fields } = header
    if (file == null) {
      handlers.message(fields, [])
      return
    }
    if (file !== 'in' && file !== 'out') throw new Error(`exchange header names file "${String(file)}"`)
    let buffer: ArrayBuffer
    try {
      checkEntries(entries, size)
      buffer = handlers.buffer(size, fields, entries)
      if (buffer.byteLength < size) throw new Error(`receive buffer of ${buffer.byteLength} bytes is smaller than the ${size}-byte message`)
    } catch (err: any) {
      this.release(file)
      handlers.refused(fields, err)
      return
    }
    const fd = this.fds[file]
    const view = new Uint8Array(buffer, 0, size)
    const read = size <= this.syncMaxBytes ? readSync(fd, view, 0, size, 0) : (await readAsync(fd, view, 0, size, 0)).bytesRead
    this.release(file)
    if (read !== size) {
      handlers.refused(fields, new Error(`exchange file "${file}" holds ${read} bytes, the header says ${size}`))
      return
    }
    handlers.message(fields, entries.map(e => {
      const Ctor = typedArrayFor(e.dtype)
      return { name: e.name, dtype: e.dtype, dims: e.dims, data: new Ctor(buffer, e.offset, e.bytes / DTYPE_BYTES[e.dtype]) }
    }))
  }

  /** Truncates a file back to `retainBytes` when a message left it larger. */
  private release (file: ExchangeFile): void {
    const fd = this.fds[file]
    if (fstatSync(fd).size > this.retainBytes) ftruncateSync(fd, this.retainBytes)
  }
}

/**
 * Checks a header's entries against the message size.
 *
 * @throws Error naming the entry that does not fit
 */
function checkEntries (entries: TensorEntry[], size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`message size ${size} is not a byte count`)
  let end = 0
  for (const e of entries) {
    const el = DTYPE_BYTES[e.dtype]
    if (el == null) throw new Error(`tensor "${e.name}" has dtype ${String(e.dtype)}, which is not carried`)
    if (e.bytes !== elementCount(e.dims) * el) throw new Error(`tensor "${e.name}" is ${e.bytes} bytes, its shape [${e.dims.join(', ')}] of ${e.dtype} needs ${elementCount(e.dims) * el}`)
    if (e.offset % ALIGN !== 0 || e.offset < end || e.offset + e.bytes > size) throw new Error(`tensor "${e.name}" at offset ${e.offset} (${e.bytes} bytes) does not fit the ${size}-byte message`)
    end = e.offset + e.bytes
  }
}
