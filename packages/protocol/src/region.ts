import { InvalidRegionError } from './errors.js'
import { MAX_REGION_LENGTH } from './limits.js'

/** The geohash base32 alphabet (Niemeyer, geohash.org): digits and letters without a, i, l, o. */
export const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz'

const REGION_RE = new RegExp(`^[${GEOHASH_ALPHABET}]{1,${MAX_REGION_LENGTH}}$`)

/** True if `region` is a lower-case geohash prefix of 1–12 characters. */
export function isRegion (region: unknown): region is string {
  return typeof region === 'string' && REGION_RE.test(region)
}

/**
 * Returns `region` if it is a geohash prefix.
 *
 * @throws InvalidRegionError naming the bad value
 */
export function assertRegion (region: unknown): string {
  if (!isRegion(region)) {
    throw new InvalidRegionError(`region ${JSON.stringify(region)} is not a geohash prefix: use 1-${MAX_REGION_LENGTH} characters of ${GEOHASH_ALPHABET}, e.g. "u33d"`)
  }
  return region
}

/**
 * Number of leading characters two regions share: the basis of "nearby"
 * (a longer shared geohash prefix means a smaller common cell).
 */
export function commonPrefixLength (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}
