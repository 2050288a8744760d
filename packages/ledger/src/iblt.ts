import { ReconcileProtocolError } from '@fleetmesh/protocol'
import { ID_BYTES } from './constants.js'

/**
 * Rateless invertible Bloom lookup tables over 32-byte ids (after Yang,
 * Gilad, Alizadeh, "Practical Rateless Set Reconciliation", SIGCOMM 2024).
 *
 * Each side maps every id it holds to an endless sequence of coded-symbol
 * indexes: index 0, then gaps drawn so that the id lands in symbol `i`
 * with probability `1 / (1 + i/2)`. A coded symbol is the XOR of its ids
 * (32 bytes), the XOR of their 64-bit checksums and their count. One side
 * sends a prefix of its symbols; the other subtracts its own symbols of
 * the same indexes, which leaves the symbols of the symmetric difference
 * only, and peels them: a symbol with count ±1 whose checksum matches its
 * sum holds exactly one id (+1: only the sender has it, −1: only the
 * receiver); removing that id from its other symbols frees more. About
 * 1.35–1.72 symbols per difference decode it, whatever the set size, and
 * the sender can always send more symbols of the same sequence: no
 * estimate of the difference is needed up front.
 *
 * Symbols travel packed, {@link SYMBOL_BYTES} each: the 32-byte sum, the
 * 8-byte checksum, the count as a little-endian int32.
 */

/** Bytes of one packed coded symbol: sum (32) + checksum (8) + count (4). */
export const SYMBOL_BYTES = ID_BYTES + 12

const WORDS = ID_BYTES / 4
const SLOT = WORDS + 2
const PURE_CHECK = new Uint32Array(2)

function fmix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Checksum of the id whose words start at `o` in `w`: two nonlinear 32-bit hashes (a XOR of ids never passes for one). */
function checksum (w: Uint32Array, o: number, out: Uint32Array, at: number): void {
  let a = 0x243f6a88
  let b = 0x85a308d3
  for (let k = 0; k < WORDS; k++) {
    const x = w[o + k] as number
    a = Math.imul(a ^ x, 0x9e3779b1)
    a = (a << 13) | (a >>> 19)
    b = Math.imul(b + x, 0x85ebca77) ^ (b >>> 15)
  }
  out[at] = fmix(a)
  out[at + 1] = fmix(b ^ a)
}

/** The index sequence of one id: a xorshift32 generator seeded by its checksum. */
function firstState (c1: number, c2: number): number {
  const s = fmix(c1 ^ Math.imul(c2, 0x27d4eb2f))
  return s === 0 ? 0x6d2b79f5 : s
}

function nextState (s: number): number {
  s ^= s << 13
  s ^= s >>> 17
  s ^= s << 5
  return s >>> 0
}

/** Gap from index `i` to the id's next index, for the generator state `s` (≥ 1). */
function gap (i: number, s: number): number {
  const u = s / 0x100000000
  return Math.max(1, Math.ceil((i + 1.5) * (1 / Math.sqrt(u) - 1)))
}

/** Reads 32-byte ids into little-endian words. */
function toWords (ids: Uint8Array[]): Uint32Array {
  const w = new Uint32Array(ids.length * WORDS)
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as Uint8Array
    if (id.byteLength !== ID_BYTES) throw new RangeError(`ids must be ${ID_BYTES} bytes`)
    for (let k = 0, b = 0; k < WORDS; k++, b += 4) w[i * WORDS + k] = ((id[b] as number) | ((id[b + 1] as number) << 8) | ((id[b + 2] as number) << 16) | ((id[b + 3] as number) << 24)) >>> 0
  }
  return w
}

/** Coded symbols of a window: sum and checksum words per symbol, counts. */
class Symbols {
  words: Uint32Array
  counts: Int32Array
  size = 0

  constructor (capacity = 0) {
    this.words = new Uint32Array(capacity * SLOT)
    this.counts = new Int32Array(capacity)
  }

  grow (size: number): void {
    if (size * SLOT > this.words.length) {
      const cap = Math.max(size, this.counts.length * 2)
      const w = new Uint32Array(cap * SLOT)
      w.set(this.words)
      const c = new Int32Array(cap)
      c.set(this.counts)
      this.words = w
      this.counts = c
    }
    this.size = Math.max(this.size, size)
  }

  /** Adds (sign +1) or removes (−1) the id with words `w[o..]` and checksum `c[co..]` at symbol `i`. */
  apply (i: number, w: Uint32Array, o: number, c: Uint32Array, co: number, sign: number): void {
    const base = i * SLOT
    const s = this.words
    for (let k = 0; k < WORDS; k++) s[base + k] = ((s[base + k] as number) ^ (w[o + k] as number)) >>> 0
    s[base + WORDS] = ((s[base + WORDS] as number) ^ (c[co] as number)) >>> 0
    s[base + WORDS + 1] = ((s[base + WORDS + 1] as number) ^ (c[co + 1] as number)) >>> 0
    this.counts[i] = (this.counts[i] as number) + sign
  }
}

/**
 * The coded symbols of one side's set, produced window by window
 * (`[0, m)`, then `[m, m')`, …): each id remembers where its index
 * sequence stopped, so extending costs only the new symbols.
 */
export class SymbolEncoder {
  private readonly words: Uint32Array
  private readonly checks: Uint32Array
  private readonly next: Float64Array
  private readonly state: Uint32Array
  private readonly symbols = new Symbols()
  readonly count: number

  /** @param ids - the set's ids, or their words (`IdSet.words()`: 8 little-endian words per id, not modified here) */
  constructor (ids: Uint8Array[] | Uint32Array) {
    this.words = ids instanceof Uint32Array ? ids : toWords(ids)
    this.count = this.words.length / WORDS
    const n = this.count
    this.checks = new Uint32Array(n * 2)
    this.next = new Float64Array(n)
    this.state = new Uint32Array(n)
    for (let i = 0; i < n; i++) {
      checksum(this.words, i * WORDS, this.checks, i * 2)
      this.state[i] = firstState(this.checks[i * 2] as number, this.checks[i * 2 + 1] as number)
    }
  }

  /** Symbols produced so far. */
  get size (): number {
    return this.symbols.size
  }

  /** Extends the symbols to `[0, end)`. */
  extend (end: number): void {
    if (end <= this.symbols.size) return
    this.symbols.grow(end)
    const { words, checks, next, state } = this
    const sw = this.symbols.words
    const sc = this.symbols.counts
    for (let e = 0; e < this.count; e++) {
      let i = next[e] as number
      if (i >= end) continue
      let s = state[e] as number
      const o = e * WORDS
      const w0 = words[o] as number; const w1 = words[o + 1] as number; const w2 = words[o + 2] as number; const w3 = words[o + 3] as number
      const w4 = words[o + 4] as number; const w5 = words[o + 5] as number; const w6 = words[o + 6] as number; const w7 = words[o + 7] as number
      const c0 = checks[e * 2] as number; const c1 = checks[e * 2 + 1] as number
      while (i < end) {
        // inlined Symbols.apply (the hot loop of encoding)
        const b = i * SLOT
        sw[b] = (sw[b] as number) ^ w0; sw[b + 1] = (sw[b + 1] as number) ^ w1; sw[b + 2] = (sw[b + 2] as number) ^ w2; sw[b + 3] = (sw[b + 3] as number) ^ w3
        sw[b + 4] = (sw[b + 4] as number) ^ w4; sw[b + 5] = (sw[b + 5] as number) ^ w5; sw[b + 6] = (sw[b + 6] as number) ^ w6; sw[b + 7] = (sw[b + 7] as number) ^ w7
        sw[b + 8] = (sw[b + 8] as number) ^ c0; sw[b + 9] = (sw[b + 9] as number) ^ c1
        sc[i] = (sc[i] as number) + 1
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0
        i += Math.max(1, Math.ceil((i + 1.5) * (4294967296 / Math.sqrt(s * 4294967296) - 1)))
      }
      next[e] = i
      state[e] = s
    }
  }

  /** Packed symbols `[start, end)` (extends first). */
  encode (start: number, end: number): Uint8Array {
    this.extend(end)
    const out = new Uint8Array((end - start) * SYMBOL_BYTES)
    const v = new DataView(out.buffer)
    for (let i = start; i < end; i++) {
      const o = (i - start) * SYMBOL_BYTES
      for (let k = 0; k < SLOT; k++) v.setUint32(o + k * 4, this.symbols.words[i * SLOT + k] as number, true)
      v.setInt32(o + SLOT * 4, this.symbols.counts[i] as number, true)
    }
    return out
  }

  /** @internal the raw symbol arrays (decoder use) */
  raw (): Symbols {
    return this.symbols
  }
}

/** What decoding found so far. */
export interface DecodeState {
  /** true when every received symbol peeled to zero: `remoteOnly` and `localOnly` are the whole difference */
  complete: boolean
  /** ids only the sender of the symbols holds (filled once complete) */
  remoteOnly: Uint8Array[]
  /** ids only this side holds (filled once complete) */
  localOnly: Uint8Array[]
  /** symbols received so far */
  received: number
}

/**
 * Decodes the other side's coded symbols against this side's set. Feed
 * windows in order with {@link add}; each call peels as far as it can.
 */
export class SymbolDecoder {
  private readonly local: SymbolEncoder
  private readonly diff = new Symbols()
  /** decoded ids: words, checksums, sign, and where their index sequence stands */
  private decodedWords = new Uint32Array(64 * WORDS)
  private decodedChecks = new Uint32Array(64 * 2)
  private decodedSign: Int8Array = new Int8Array(64)
  private decodedNext = new Float64Array(64)
  private decodedState = new Uint32Array(64)
  private decoded = 0
  private readonly maxSymbols: number

  /**
   * @param ids - this side's ids (or their words, or its encoder)
   * @param maxSymbols - most symbols accepted in all (a bound on memory)
   */
  constructor (ids: Uint8Array[] | Uint32Array | SymbolEncoder, maxSymbols: number) {
    this.local = ids instanceof SymbolEncoder ? ids : new SymbolEncoder(ids)
    this.maxSymbols = maxSymbols
  }

  /** Symbols received so far. */
  get received (): number {
    return this.diff.size
  }

  /**
   * Adds packed symbols `[start, start + n)`; `start` must be the number received so far.
   *
   * @throws ReconcileProtocolError on a window out of order, over the bound, or not whole symbols
   */
  add (start: number, packed: Uint8Array): DecodeState {
    if (packed.byteLength % SYMBOL_BYTES !== 0) throw new ReconcileProtocolError('coded symbols are not a whole number of symbols')
    if (start !== this.diff.size) throw new ReconcileProtocolError(`coded symbols start at ${start}, expected ${this.diff.size}`)
    const n = packed.byteLength / SYMBOL_BYTES
    const end = start + n
    if (end > this.maxSymbols) throw new ReconcileProtocolError(`${end} coded symbols, over the bound of ${this.maxSymbols}`)
    this.local.extend(end)
    this.diff.grow(end)
    const mine = this.local.raw()
    const d = this.diff
    const v = new DataView(packed.buffer, packed.byteOffset, packed.byteLength)
    for (let i = start; i < end; i++) {
      const o = (i - start) * SYMBOL_BYTES
      for (let k = 0; k < SLOT; k++) d.words[i * SLOT + k] = (v.getUint32(o + k * 4, true) ^ (mine.words[i * SLOT + k] as number)) >>> 0
      d.counts[i] = v.getInt32(o + SLOT * 4, true) - (mine.counts[i] as number)
    }
    // ids decoded in earlier windows leave the new symbols too
    for (let e = 0; e < this.decoded; e++) this.advance(e, end)
    const queue: number[] = []
    for (let i = start; i < end; i++) queue.push(i)
    for (let i = 0; i < start; i++) if (d.counts[i] !== 0) queue.push(i)
    this.peel(queue, end)
    return this.state()
  }

  private isPure (i: number): boolean {
    const c = this.diff.counts[i]
    if (c !== 1 && c !== -1) return false
    const base = i * SLOT
    const tmp = PURE_CHECK
    checksum(this.diff.words, base, tmp, 0)
    return tmp[0] === this.diff.words[base + WORDS] && tmp[1] === this.diff.words[base + WORDS + 1]
  }

  /** Removes decoded id `e` from its symbols below `end`, from where its sequence stands. */
  private advance (e: number, end: number, touched?: number[]): void {
    let i = this.decodedNext[e] as number
    let s = this.decodedState[e] as number
    const sign = -(this.decodedSign[e] as number)
    while (i < end) {
      this.diff.apply(i, this.decodedWords, e * WORDS, this.decodedChecks, e * 2, sign)
      touched?.push(i)
      s = nextState(s)
      i += gap(i, s)
    }
    this.decodedNext[e] = i
    this.decodedState[e] = s
  }

  private remember (i: number): number {
    const e = this.decoded
    if (e >= this.decodedSign.length) {
      const cap = this.decodedSign.length * 2
      const grow = <T extends Uint32Array | Float64Array | Int8Array>(a: T, per: number, make: (n: number) => T): T => { const b = make(cap * per); b.set(a as any); return b }
      this.decodedWords = grow(this.decodedWords, WORDS, n => new Uint32Array(n))
      this.decodedChecks = grow(this.decodedChecks, 2, n => new Uint32Array(n))
      this.decodedSign = grow(this.decodedSign, 1, n => new Int8Array(n))
      this.decodedNext = grow(this.decodedNext, 1, n => new Float64Array(n))
      this.decodedState = grow(this.decodedState, 1, n => new Uint32Array(n))
    }
    const base = i * SLOT
    for (let k = 0; k < WORDS; k++) this.decodedWords[e * WORDS + k] = this.diff.words[base + k] as number
    this.decodedChecks[e * 2] = this.diff.words[base + WORDS] as number
    this.decodedChecks[e * 2 + 1] = this.diff.words[base + WORDS + 1] as number
    this.decodedSign[e] = this.diff.counts[i] as number
    this.decodedNext[e] = 0
    this.decodedState[e] = firstState(this.decodedChecks[e * 2] as number, this.decodedChecks[e * 2 + 1] as number)
    this.decoded++
    return e
  }

  private peel (queue: number[], end: number): void {
    while (queue.length > 0) {
      const i = queue.pop() as number
      if (!this.isPure(i)) continue
      const e = this.remember(i)
      const touched: number[] = []
      this.advance(e, end, touched)
      for (const t of touched) if (this.diff.counts[t] === 1 || this.diff.counts[t] === -1) queue.push(t)
    }
  }

  private state (): DecodeState {
    const d = this.diff
    let complete = true
    for (let i = 0; i < d.size && complete; i++) {
      if (d.counts[i] !== 0) { complete = false; break }
      for (let k = 0; k < SLOT; k++) if (d.words[i * SLOT + k] !== 0) { complete = false; break }
    }
    const remoteOnly: Uint8Array[] = []
    const localOnly: Uint8Array[] = []
    // the lists are only read once decoding is complete
    const listed = complete ? this.decoded : 0
    for (let e = 0; e < listed; e++) {
      const id = new Uint8Array(ID_BYTES)
      const v = new DataView(id.buffer)
      for (let k = 0; k < WORDS; k++) v.setUint32(k * 4, this.decodedWords[e * WORDS + k] as number, true)
      if (this.decodedSign[e] === 1) remoteOnly.push(id)
      else localOnly.push(id)
    }
    return { complete, remoteOnly, localOnly, received: d.size }
  }
}
