import { generateKey } from '@libp2p/pnet'
import { InvalidSwarmKeyError } from './errors.js'

/**
 * Swarm keys for libp2p private networks (pnet). The format is the
 * go-ipfs/libp2p "PSK v1" text file:
 *
 * ```
 * /key/swarm/psk/1.0.0/
 * /base16/
 * <64 hex characters: a 32-byte XSalsa20 key>
 * ```
 */

const SWARM_KEY_RE = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-fA-F]{64}\s*$/

/** Generates a new swarm key (the PSK v1 text file, as bytes). */
export function generateSwarmKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

/**
 * Checks a swarm key and returns it as bytes. Accepts the file's bytes or text.
 *
 * @throws InvalidSwarmKeyError if it is not a PSK v1 key
 */
export function parseSwarmKey (key: Uint8Array | string): Uint8Array {
  const text = typeof key === 'string' ? key : new TextDecoder().decode(key)
  if (!SWARM_KEY_RE.test(text)) {
    throw new InvalidSwarmKeyError('swarm key is not a libp2p PSK v1 key ("/key/swarm/psk/1.0.0/", "/base16/", 64 hex characters); generate one with `fleetmesh swarm-key`')
  }
  return new TextEncoder().encode(text.trim())
}
