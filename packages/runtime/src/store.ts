import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cidDigest, modelCid, parseModelCid } from './cid.js'
import { ModelHashMismatchError, ModelNotFoundError, ModelTooLargeError } from './errors.js'
import { validateModel } from './validate.js'
import type { ModelInfo, ModelLimits } from './validate.js'

/**
 * A persistent, content-addressed model store in a directory: each model is
 * `<cid>.onnx` plus `<cid>.json` (metadata and last use). Only validated
 * models get in. When the total size would pass the budget, the least
 * recently used models are evicted.
 */

/** Options of {@link ModelStore.open}. */
export interface ModelStoreInit {
  /** most bytes of model files kept @default 2 GiB */
  budgetBytes?: number
  /** validation limits for models put into the store */
  limits?: ModelLimits
}

/** A stored model. */
export interface StoredModel {
  cid: string
  /** file size, bytes */
  size: number
  info: ModelInfo
  /** ms since the epoch */
  addedAt: number
  /** ms since the epoch; drives LRU eviction */
  lastUsed: number
}

/**
 * A model being written into the store while its bytes arrive (see
 * {@link ModelStore.stage}): pieces go to a temporary file in order; the
 * model is in the store only after {@link StagedModel.commit}.
 */
export interface StagedModel {
  /** Queues `piece`, the model's next bytes, for writing (keep it unchanged until commit or abort). */
  write(piece: Uint8Array): void
  /**
   * Checks and stores the model: `bytes` is the whole file, the same bytes
   * written. Hashes them against the CID unless `options.hashed` (the
   * caller already did), validates them, waits for the writes and moves
   * the file into place.
   *
   * @throws ModelHashMismatchError, validation errors, write errors; the temporary file is removed on any error
   */
  commit(bytes: Uint8Array, options?: { hashed?: boolean }): Promise<StoredModel>
  /** Drops the temporary file. */
  abort(): Promise<void>
}

/** Most often a model's last-use time is written to disk, ms. */
const TOUCH_PERSIST_MS = 5000

/** Default store budget, bytes. */
export const DEFAULT_STORE_BUDGET_BYTES = 2 * 1024 * 1024 * 1024

export class ModelStore {
  readonly dir: string
  readonly budgetBytes: number
  private readonly limits: ModelLimits
  private readonly entries = new Map<string, StoredModel>()
  /** writes of models not stored yet, by CID (a put of one being written waits for it) */
  private readonly putting = new Map<string, Promise<StoredModel>>()
  private clock = 0
  private readonly persistTimers = new Map<string, ReturnType<typeof setTimeout>>()
  /** last-use writes under way (awaited by flush) */
  private readonly persisting = new Set<Promise<void>>()

  private constructor (dir: string, init: ModelStoreInit) {
    this.dir = dir
    this.budgetBytes = init.budgetBytes ?? DEFAULT_STORE_BUDGET_BYTES
    this.limits = init.limits ?? {}
  }

  /** Opens (creating if needed) the store in `dir` and loads its index. */
  static async open (dir: string, init: ModelStoreInit = {}): Promise<ModelStore> {
    const store = new ModelStore(dir, init)
    await mkdir(dir, { recursive: true })
    for (const name of await readdir(dir)) {
      // a staged model whose fetch never finished (the node stopped mid-fetch)
      if (name.endsWith('.part')) { await rm(join(dir, name), { force: true }); continue }
      if (!name.endsWith('.json')) continue
      try {
        const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredModel
        parseModelCid(meta.cid)
        store.entries.set(meta.cid, meta)
      } catch {
        // a half-written or foreign file: ignore it, the model is fetched again if needed
      }
    }
    return store
  }

  /** Total bytes of stored model files. */
  get usedBytes (): number {
    let n = 0
    for (const e of this.entries.values()) n += e.size
    return n
  }

  has (cid: string): boolean {
    return this.entries.has(cid)
  }

  /** Metadata of every stored model, most recently used first. */
  list (): StoredModel[] {
    return [...this.entries.values()].sort((a, b) => b.lastUsed - a.lastUsed)
  }

  /** Metadata of one model. @throws ModelNotFoundError */
  info (cid: string): StoredModel {
    const e = this.entries.get(cid)
    if (e == null) throw new ModelNotFoundError(`no model ${cid} in the store at ${this.dir}`)
    return e
  }

  /**
   * Validates and stores a model.
   *
   * @param bytes - the .onnx file
   * @param expectedCid - if given, the bytes must hash to it
   * @param options.hashed - the caller already hashed exactly these bytes and they matched `expectedCid` (e.g. a fetch that hashed each piece as it arrived): the store does not hash them again. Without `expectedCid` it is ignored.
   * @returns the stored entry (an existing one if the model is already there)
   * @throws ModelHashMismatchError, ModelTooLargeError (over the budget alone), and validation errors
   */
  async put (bytes: Uint8Array, expectedCid?: string, options: { hashed?: boolean } = {}): Promise<StoredModel> {
    if (expectedCid != null && options.hashed !== true) {
      const digest = cidDigest(expectedCid)
      const actual = createHash('sha256').update(bytes).digest()
      if (!Buffer.from(digest).equals(actual)) {
        throw new ModelHashMismatchError(`model bytes hash to ${modelCid(bytes)}, not ${expectedCid}; the source sent corrupt or different data`)
      }
    }
    const cid = expectedCid ?? modelCid(bytes)
    const existing = this.entries.get(cid)
    if (existing != null) {
      this.touch(existing)
      return existing
    }
    if (bytes.byteLength > this.budgetBytes) {
      throw new ModelTooLargeError(`model is ${bytes.byteLength} bytes, over the store budget of ${this.budgetBytes} bytes`)
    }
    // the same model put again while it is written (two sessions opening on it) waits for that write
    const writing = this.putting.get(cid)
    if (writing != null) return await writing
    const put = this.write(cid, bytes)
    this.putting.set(cid, put)
    try {
      return await put
    } finally {
      this.putting.delete(cid)
    }
  }

  /** Validates, makes room for and writes a model not stored yet. */
  private async write (cid: string, bytes: Uint8Array): Promise<StoredModel> {
    const info = validateModel(bytes, this.limits)
    await this.evictFor(bytes.byteLength)
    const now = Date.now()
    const entry: StoredModel = { cid, size: bytes.byteLength, info, addedAt: now, lastUsed: now + (this.clock++ / 1000) }
    const file = this.modelPath(cid)
    // a .part file: removed at the next open should the node stop before the rename
    const part = `${file}.${randomBytes(6).toString('hex')}.part`
    await writeFile(part, bytes)
    await rename(part, file)
    await this.writeMeta(entry)
    this.entries.set(cid, entry)
    return entry
  }

  /**
   * Starts writing model `cid` of `size` bytes while its bytes arrive (a
   * fetch): after the last byte only validation and a rename are left,
   * not a write of the whole file.
   *
   * @throws InvalidCidError, ModelTooLargeError when `size` is over the budget alone
   */
  stage (cid: string, size: number): StagedModel {
    const file = this.modelPath(cid)
    if (size > this.budgetBytes) throw new ModelTooLargeError(`model is ${size} bytes, over the store budget of ${this.budgetBytes} bytes`)
    const part = `${file}.${randomBytes(6).toString('hex')}.part`
    const handle = open(part, 'w')
    handle.catch(() => {})
    let writes: Promise<unknown> = handle
    let failed: unknown
    let done = false
    const drop = async (): Promise<void> => {
      done = true
      await writes.catch(() => {})
      await (await handle.catch(() => undefined))?.close().catch(() => {})
      await rm(part, { force: true })
    }
    return {
      write: (piece) => {
        if (done) return
        writes = writes.then(async () => { await (await handle).write(piece) }).catch((err) => { failed ??= err })
      },
      commit: async (bytes, options = {}) => {
        try {
          if (done) throw new Error(`staged model ${cid} was already committed or aborted`)
          if (options.hashed !== true && !Buffer.from(cidDigest(cid)).equals(createHash('sha256').update(bytes).digest())) {
            throw new ModelHashMismatchError(`model bytes hash to ${modelCid(bytes)}, not ${cid}; the source sent corrupt or different data`)
          }
          const existing = this.entries.get(cid)
          if (existing != null) {
            await drop()
            this.touch(existing)
            return existing
          }
          const info = validateModel(bytes, this.limits)
          await writes
          if (failed != null) throw failed
          await (await handle).close()
          done = true
          await this.evictFor(bytes.byteLength)
          const now = Date.now()
          const entry: StoredModel = { cid, size: bytes.byteLength, info, addedAt: now, lastUsed: now + (this.clock++ / 1000) }
          await rename(part, file)
          await this.writeMeta(entry)
          this.entries.set(cid, entry)
          return entry
        } catch (err) {
          await drop()
          throw err
        }
      },
      abort: drop
    }
  }

  /**
   * Reads a model's bytes and marks it used.
   *
   * @param options.verify - re-hash the file and compare with its CID (detects disk corruption)
   * @throws ModelNotFoundError, ModelHashMismatchError
   */
  async get (cid: string, options: { verify?: boolean } = {}): Promise<Uint8Array> {
    const entry = this.info(cid)
    let bytes: Uint8Array
    try {
      bytes = await readFile(this.modelPath(cid))
    } catch {
      this.entries.delete(cid)
      throw new ModelNotFoundError(`model ${cid} is indexed but its file is gone from ${this.dir}`)
    }
    if (options.verify === true && modelCid(bytes) !== cid) {
      throw new ModelHashMismatchError(`stored file of ${cid} no longer matches its CID (disk corruption); delete it and fetch it again`)
    }
    this.touch(entry)
    return bytes
  }

  /** Path of a stored model's file (for runner processes) and marks it used. @throws InvalidCidError, ModelNotFoundError */
  path (cid: string): string {
    parseModelCid(cid)
    this.touch(this.info(cid))
    return this.modelPath(cid)
  }

  /**
   * Writes every last-use time still waiting for its TOUCH_PERSIST_MS timer
   * now, and waits for those writes: after it nothing of the store is being
   * written (call it when the node stops, before its data directory is
   * moved or removed). A later use arms the timers again.
   */
  async flush (): Promise<void> {
    const due = [...this.persistTimers.entries()]
    this.persistTimers.clear()
    for (const [cid, timer] of due) {
      clearTimeout(timer)
      const entry = this.entries.get(cid)
      if (entry != null) this.persist(entry)
    }
    while (this.persisting.size > 0) await Promise.all([...this.persisting])
  }

  /** Removes a model. */
  async delete (cid: string): Promise<void> {
    clearTimeout(this.persistTimers.get(cid))
    this.persistTimers.delete(cid)
    this.entries.delete(cid)
    await rm(this.modelPath(cid), { force: true })
    await rm(this.metaPath(cid), { force: true })
  }

  private modelPath (cid: string): string {
    parseModelCid(cid) // never build a path from anything but a valid CID
    return join(this.dir, `${cid}.onnx`)
  }

  private metaPath (cid: string): string {
    return join(this.dir, `${cid}.json`)
  }

  /** Marks a model used; the time reaches disk at most every TOUCH_PERSIST_MS per model (hot paths call this per inference). */
  private touch (entry: StoredModel): void {
    entry.lastUsed = Date.now() + (this.clock++ / 1000)
    if (this.persistTimers.has(entry.cid)) return
    const timer = setTimeout(() => {
      this.persistTimers.delete(entry.cid)
      if (this.entries.has(entry.cid)) this.persist(entry)
    }, TOUCH_PERSIST_MS)
    timer.unref?.()
    this.persistTimers.set(entry.cid, timer)
  }

  /** Writes a model's entry in the background, tracked for {@link flush}. */
  private persist (entry: StoredModel): void {
    const write: Promise<void> = this.writeMeta(entry).catch(() => {}).finally(() => this.persisting.delete(write))
    this.persisting.add(write)
  }

  private async writeMeta (entry: StoredModel): Promise<void> {
    const file = this.metaPath(entry.cid)
    // a name of its own: a put and a persisted touch of one model may write at once
    const part = `${file}.${randomBytes(6).toString('hex')}.part`
    await writeFile(part, JSON.stringify(entry))
    await rename(part, file)
  }

  /** Evicts least recently used models until `incoming` more bytes fit the budget. */
  private async evictFor (incoming: number): Promise<void> {
    const byAge = [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed)
    let used = this.usedBytes
    for (const e of byAge) {
      if (used + incoming <= this.budgetBytes) break
      await this.delete(e.cid)
      used -= e.size
    }
  }
}
