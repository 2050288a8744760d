import { MAX_RECONCILE_RANGES, RangeMode, ReconcileProtocolError } from '@fleetmesh/protocol'
import { FINGERPRINT_BYTES, ID_BYTES, RECONCILE_BRANCHING, RECONCILE_ID_LIST_THRESHOLD } from './constants.js'
import { buf, sha256 } from './signing.js'
import type { ReconcileRange } from '@fleetmesh/protocol'

/**
 * Range-based set reconciliation over 32-byte ids (after Negentropy,
 * Doug Hoyte 2023): both sides sort their ids; one side sends
 * fingerprints of ranges of the id space; the other compares each with its
 * own fingerprint of the same range, skips equal ranges, splits differing
 * ones into `branching` sub-ranges, and answers small ranges with the list
 * of its ids. Whoever receives an id list knows exactly which ids each
 * side lacks in that range. Traffic is about
 * `d · log_b(n) · (b · fingerprint size)` for d differences among n ids,
 * not proportional to n.
 *
 * A range is `[lower, upper)` where `lower` is the previous range's upper
 * bound (the first starts at the empty bound) and bounds are id prefixes,
 * compared bytewise (a prefix sorts before its extensions). The fingerprint
 * of a range is sha2-256(sum of its ids mod 2^256 ‖ count) truncated to 16
 * bytes; the sum, unlike XOR, does not cancel pairs (Negentropy's choice),
 * and prefix sums make every range's fingerprint O(1).
 */

/** Options of {@link Reconciler}. */
export interface ReconcileOptions {
  /** sub-ranges per split @default RECONCILE_BRANCHING (16) */
  branching?: number
  /** ranges with at most this many ids are sent as id lists @default RECONCILE_ID_LIST_THRESHOLD (12) */
  idListThreshold?: number
}

/** What one step of reconciliation produced. */
export interface ReconcileStep {
  /** ranges to send back; empty when this side is done */
  ranges: ReconcileRange[]
  /** ids this side has and the other lacks: send their entries */
  have: Uint8Array[]
  /** ids the other side has and this side lacks: ask for their entries */
  need: Uint8Array[]
  /** received fingerprint ranges that differed from this side's */
  differing: number
}

const WORDS = ID_BYTES / 4
const EMPTY = new Uint8Array(0)
/** Largest range summed directly: its word sums stay exact in a double (< 2^53). */
const DIRECT_SUM_MAX = 1 << 21

/** Bytewise comparison; a prefix sorts before its extensions. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.byteLength - b.byteLength
}

/**
 * A sorted set of 32-byte ids with prefix sums for O(1) range
 * fingerprints. Inserts keep it sorted; the prefix sums are rebuilt lazily
 * (O(n)) before the next fingerprint.
 */
export class IdSet {
  private ids: Uint8Array[]
  private prefix: Uint32Array = new Uint32Array(WORDS)
  private dirty = true
  /** ids summed directly for fingerprints since the last change (see `fingerprint`) */
  private summed = 0
  /** the ids as little-endian words, in order (built on demand; dropped on insert) */
  private packed?: Uint32Array

  constructor (ids: Iterable<Uint8Array> = []) {
    // Buffer.compare is bytewise like compareBytes, and native
    const sorted = [...ids].sort(Buffer.compare)
    this.ids = sorted.filter((id, i) => i === 0 || Buffer.compare(id, sorted[i - 1] as Uint8Array) !== 0)
    for (const id of this.ids) if (id.byteLength !== ID_BYTES) throw new RangeError(`ids must be ${ID_BYTES} bytes`)
  }

  /** A copy that later inserts into this set do not change (O(n), no sort); what this set derived so far is shared. */
  snapshot (): IdSet {
    const copy = new IdSet()
    copy.ids = this.ids.slice()
    copy.packed = this.packed
    copy.prefix = this.prefix
    copy.dirty = this.dirty
    return copy
  }

  /** All ids, sorted (a copy of the array, not of the ids). */
  all (): Uint8Array[] {
    return this.ids.slice()
  }

  /**
   * All ids as little-endian 32-bit words, 8 per id, in sorted order:
   * computed once per set state and shared (the fingerprints and the coded
   * symbols read the same words). Do not modify.
   */
  words (): Uint32Array {
    if (this.packed == null) {
      const n = this.ids.length
      const w = new Uint32Array(n * WORDS)
      for (let i = 0; i < n; i++) {
        const id = this.ids[i] as Uint8Array
        const o = i * WORDS
        for (let k = 0, b = 0; k < WORDS; k++, b += 4) {
          w[o + k] = ((id[b] as number) | ((id[b + 1] as number) << 8) | ((id[b + 2] as number) << 16) | ((id[b + 3] as number) << 24)) >>> 0
        }
      }
      this.packed = w
    }
    return this.packed
  }

  get size (): number {
    return this.ids.length
  }

  /** The id at sorted position `i`. */
  at (i: number): Uint8Array {
    return this.ids[i] as Uint8Array
  }

  /** Index of the first id that is not below `bound` (`size` for the infinite bound). */
  lowerBound (bound: Uint8Array, infinite = false): number {
    if (infinite) return this.ids.length
    let lo = 0
    let hi = this.ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(this.ids[mid] as Uint8Array, bound) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  has (id: Uint8Array): boolean {
    const i = this.lowerBound(id)
    return i < this.ids.length && compareBytes(this.ids[i] as Uint8Array, id) === 0
  }

  /** Inserts `id`; false if it was there. */
  add (id: Uint8Array): boolean {
    if (id.byteLength !== ID_BYTES) throw new RangeError(`ids must be ${ID_BYTES} bytes`)
    const i = this.lowerBound(id)
    if (i < this.ids.length && compareBytes(this.ids[i] as Uint8Array, id) === 0) return false
    this.ids.splice(i, 0, id)
    this.dirty = true
    this.summed = 0
    this.packed = undefined
    return true
  }

  /** Ids in `[lo, hi)` by index. */
  slice (lo: number, hi: number): Uint8Array[] {
    return this.ids.slice(lo, hi)
  }

  /** Prefix sums (mod 2^256, 8 words per position) of the ids in order. */
  private build (): void {
    const n = this.ids.length
    const w = this.words()
    const p = new Uint32Array((n + 1) * WORDS)
    for (let i = 0, base = 0; i < n; i++, base += WORDS) {
      let carry = 0
      for (let k = 0; k < WORDS; k++) {
        const s = (p[base + k] as number) + (w[base + k] as number) + carry
        p[base + WORDS + k] = s >>> 0
        carry = s > 0xffffffff ? 1 : 0
      }
    }
    this.prefix = p
    this.dirty = false
  }

  /**
   * Fingerprint of the ids at indexes `[lo, hi)`, FINGERPRINT_BYTES bytes.
   * Until the ranges summed directly add up to twice the set (a session in
   * coded symbols needs only the first split's), the sum is taken over the
   * range's words; then the prefix sums are built and every later range is O(1).
   */
  fingerprint (lo: number, hi: number): Uint8Array {
    const sum = new Uint8Array(ID_BYTES + 4)
    const view = new DataView(sum.buffer)
    if (this.dirty && hi - lo < DIRECT_SUM_MAX && this.summed + (hi - lo) <= 2 * this.ids.length) {
      this.summed += hi - lo
      const w = this.words()
      const acc = new Float64Array(WORDS)
      // word sums stay exact in a double (under DIRECT_SUM_MAX ids); carries are propagated once at the end
      for (let i = lo * WORDS, end = hi * WORDS; i < end; i += WORDS) {
        for (let k = 0; k < WORDS; k++) acc[k] = (acc[k] as number) + (w[i + k] as number)
      }
      let carry = 0
      for (let k = 0; k < WORDS; k++) {
        const t = (acc[k] as number) + carry
        const low = t % 0x100000000
        view.setUint32(k * 4, low, true)
        carry = (t - low) / 0x100000000
      }
    } else {
      if (this.dirty) this.build()
      const p = this.prefix
      let borrow = 0
      for (let w = 0; w < WORDS; w++) {
        let d = (p[hi * WORDS + w] as number) - (p[lo * WORDS + w] as number) - borrow
        borrow = d < 0 ? 1 : 0
        if (d < 0) d += 0x100000000
        view.setUint32(w * 4, d, true)
      }
    }
    view.setUint32(ID_BYTES, hi - lo, true)
    return sha256(sum).subarray(0, FINGERPRINT_BYTES)
  }
}

/** The shortest prefix of `next` that sorts above `prev` (prev < next). */
function minimalBound (prev: Uint8Array, next: Uint8Array): Uint8Array {
  let i = 0
  while (i < ID_BYTES && prev[i] === next[i]) i++
  return next.subarray(0, i + 1)
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0
}

/**
 * One side of a reconciliation. Pure: it holds a snapshot of the ids and
 * turns received ranges into ranges to send back plus what each side lacks.
 * The initiator calls {@link initiate} once, then both sides call
 * {@link reconcile} on each message until a side produces no ranges.
 */
export class Reconciler {
  private readonly set: IdSet
  private readonly branching: number
  private readonly threshold: number

  constructor (set: IdSet, options: ReconcileOptions = {}) {
    this.set = set
    this.branching = Math.max(2, options.branching ?? RECONCILE_BRANCHING)
    this.threshold = Math.max(0, options.idListThreshold ?? RECONCILE_ID_LIST_THRESHOLD)
  }

  /** The first message's ranges: the whole id space. */
  initiate (): ReconcileRange[] {
    const out: ReconcileRange[] = []
    this.split(out, 0, this.set.size, true)
    return out
  }

  /**
   * Processes the other side's ranges.
   *
   * @throws ReconcileProtocolError on ranges out of order, too many, or malformed
   */
  reconcile (ranges: ReconcileRange[]): ReconcileStep {
    if (ranges.length > MAX_RECONCILE_RANGES) throw new ReconcileProtocolError(`${ranges.length} ranges in one message, over ${MAX_RECONCILE_RANGES}`)
    const out: ReconcileRange[] = []
    const have: Uint8Array[] = []
    const need: Uint8Array[] = []
    let lower: Uint8Array = EMPTY
    let lowerIndex = 0
    let ended = false
    // the upper bound of the last range written to `out`; a gap before the next one is a skip
    let written: Uint8Array = EMPTY
    let pendingWork = false
    let differing = 0
    const emit = (r: ReconcileRange[], from: Uint8Array): void => {
      if (!equalBytes(written, from)) out.push({ upperBound: buf(from), infinite: false, mode: RangeMode.RANGE_MODE_SKIP, fingerprint: EMPTY, ids: EMPTY })
      out.push(...r)
      const last = r[r.length - 1] as ReconcileRange
      written = last.upperBound
    }
    for (const range of ranges) {
      if (ended) throw new ReconcileProtocolError('a range follows the infinite range')
      if (!range.infinite && (range.upperBound.byteLength === 0 || range.upperBound.byteLength > ID_BYTES || compareBytes(range.upperBound, lower) <= 0)) {
        throw new ReconcileProtocolError('range bounds are not strictly increasing id prefixes')
      }
      const hi = this.set.lowerBound(range.upperBound, range.infinite)
      const lo = lowerIndex
      if (range.mode === RangeMode.FINGERPRINT) {
        if (range.fingerprint.byteLength !== FINGERPRINT_BYTES) throw new ReconcileProtocolError(`fingerprint of ${range.fingerprint.byteLength} bytes`)
        if (!equalBytes(this.set.fingerprint(lo, hi), range.fingerprint)) {
          const sub: ReconcileRange[] = []
          this.split(sub, lo, hi, range.infinite, range.upperBound)
          emit(sub, lower)
          pendingWork = true
          differing++
        }
      } else if (range.mode === RangeMode.ID_LIST) {
        if (range.ids.byteLength % ID_BYTES !== 0) throw new ReconcileProtocolError('id list is not a whole number of ids')
        const theirs = new IdSet(chunks(range.ids))
        for (let i = 0; i < theirs.size; i++) {
          const id = theirs.at(i)
          if (compareBytes(id, lower) < 0 || (!range.infinite && compareBytes(id, range.upperBound) >= 0)) throw new ReconcileProtocolError('an id lies outside its range')
          if (!this.set.has(id)) need.push(id)
        }
        for (let i = lo; i < hi; i++) {
          const id = this.set.at(i)
          if (!theirs.has(id)) have.push(id)
        }
      } else if (range.mode !== RangeMode.RANGE_MODE_SKIP) {
        throw new ReconcileProtocolError(`unknown range mode ${String(range.mode)}`)
      }
      lower = range.infinite ? lower : range.upperBound
      lowerIndex = hi
      ended = range.infinite
    }
    return { ranges: pendingWork ? out : [], have, need, differing }
  }

  /** Appends fingerprints of `branching` sub-ranges of [lo, hi), or an id list when small. */
  private split (out: ReconcileRange[], lo: number, hi: number, infinite: boolean, upper: Uint8Array = EMPTY): void {
    const n = hi - lo
    if (n <= this.threshold) {
      const ids = new Uint8Array(n * ID_BYTES)
      for (let i = 0; i < n; i++) ids.set(this.set.at(lo + i), i * ID_BYTES)
      out.push({ upperBound: buf(infinite ? EMPTY : upper), infinite, mode: RangeMode.ID_LIST, fingerprint: EMPTY, ids })
      return
    }
    const b = Math.min(this.branching, n)
    let start = lo
    for (let k = 1; k <= b; k++) {
      const end = k === b ? hi : lo + Math.floor((n * k) / b)
      const last = k === b
      const bound = last ? (infinite ? EMPTY : upper) : minimalBound(this.set.at(end - 1), this.set.at(end))
      out.push({ upperBound: buf(bound), infinite: last && infinite, mode: RangeMode.FINGERPRINT, fingerprint: buf(this.set.fingerprint(start, end)), ids: EMPTY })
      start = end
    }
  }
}

/** Splits concatenated ids into 32-byte views. */
export function chunks (ids: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let o = 0; o + ID_BYTES <= ids.byteLength; o += ID_BYTES) out.push(ids.subarray(o, o + ID_BYTES))
  return out
}

/** Concatenates 32-byte ids. */
export function concatIds (ids: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ids.length * ID_BYTES)
  ids.forEach((id, i) => { out.set(id, i * ID_BYTES) })
  return out
}
