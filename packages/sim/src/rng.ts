/**
 * Seeded random numbers (xoshiro128**, Blackman and Vigna 2018): every run
 * of a scenario with the same seed makes the same choices, so simulator
 * results are reproducible and tests can state exact outcomes.
 */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  /** @param seed - any 32-bit integer; expanded by splitmix32 into the state */
  constructor (seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next(); this.b = next(); this.c = next(); this.d = next()
  }

  /** A uniform 32-bit unsigned integer. */
  u32 (): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.b << 9) >>> 0
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return r
  }

  /** Uniform in [0, 1). */
  next (): number {
    return this.u32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Exponentially distributed with the given mean. */
  exp (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return p > 0 && this.next() < p
  }
}

function rotl (x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
