import { createRequire } from 'node:module'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * The pnet keystream: XSalsa20 of (a 24-byte nonce, the 32-byte pre-shared
 * key), XORed continuously over every byte one side sends, across however
 * the bytes are split into buffers (the libp2p PSK v1 spec, as
 * @libp2p/pnet).
 *
 * Two backends give byte-identical output:
 *  - `sodium-native`: libsodium's stateful `crypto_stream_xor_init/update`
 *    (`crypto_stream_PRIMITIVE` is xsalsa20), a native addon loaded from
 *    the package's prebuilds: ~3.0 GB/s per core on 64 KiB buffers,
 *  - `@noble/ciphers`: pure JS, ~442 MB/s per core, used when the addon
 *    cannot load (an unsupported platform, a stripped install).
 */
export type PnetCipherBackend = 'sodium-native' | '@noble/ciphers'

/** A continuous XSalsa20 keystream XOR over a sequence of buffers. */
export interface PnetKeystream {
  readonly backend: PnetCipherBackend
  /**
   * XORs the next `data.byteLength` bytes of the keystream into a new buffer
   * (the input is left untouched: upper layers may still hold it). A
   * Uint8ArrayList is read buffer by buffer, never concatenated first.
   */
  xor: (data: Uint8Array | Uint8ArrayList) => Uint8Array
}

/** The part of sodium-native's API the keystream uses. */
export interface SodiumStreamApi {
  crypto_stream_xor_STATEBYTES: number
  crypto_stream_xor_init: (state: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void
  crypto_stream_xor_update: (state: Uint8Array, out: Uint8Array, data: Uint8Array) => void
  crypto_stream_PRIMITIVE?: string
}

const NONCE_LENGTH = 24
const KEY_LENGTH = 32
const BLOCK = 64

class SodiumKeystream implements PnetKeystream {
  readonly backend = 'sodium-native'
  private readonly state: Uint8Array

  constructor (private readonly sodium: SodiumStreamApi, key: Uint8Array, nonce: Uint8Array) {
    this.state = new Uint8Array(sodium.crypto_stream_xor_STATEBYTES)
    sodium.crypto_stream_xor_init(this.state, nonce, key)
  }

  xor (data: Uint8Array | Uint8ArrayList): Uint8Array {
    const out = Buffer.allocUnsafe(data.byteLength)
    if (data instanceof Uint8Array) {
      this.sodium.crypto_stream_xor_update(this.state, out, data)
      return out
    }
    let at = 0
    for (const buf of data) {
      this.sodium.crypto_stream_xor_update(this.state, out.subarray(at, at + buf.byteLength), buf)
      at += buf.byteLength
    }
    return out
  }
}

class NobleKeystream implements PnetKeystream {
  readonly backend = '@noble/ciphers'
  private position = 0
  constructor (private readonly key: Uint8Array, private readonly nonce: Uint8Array) {}

  xor (input: Uint8Array | Uint8ArrayList): Uint8Array {
    const data = input instanceof Uint8Array ? input : input.subarray()
    const offset = this.position % BLOCK
    const counter = Math.floor(this.position / BLOCK)
    let out: Uint8Array
    if (offset === 0) {
      out = xsalsa20(this.key, this.nonce, data, undefined, counter)
    } else {
      // start mid-block: XOR a buffer padded to the block boundary, keep the tail
      const padded = new Uint8Array(offset + data.byteLength)
      padded.set(data, offset)
      out = xsalsa20(this.key, this.nonce, padded, undefined, counter).subarray(offset)
    }
    this.position += data.byteLength
    return out
  }
}

/** Loads sodium-native's stream API; throws if the addon cannot load or lacks XSalsa20. */
export function requireSodium (): SodiumStreamApi {
  const sodium = createRequire(import.meta.url)('sodium-native') as SodiumStreamApi
  if (typeof sodium.crypto_stream_xor_init !== 'function' || typeof sodium.crypto_stream_xor_update !== 'function') {
    throw new Error('sodium-native has no crypto_stream_xor_init/update')
  }
  if (sodium.crypto_stream_PRIMITIVE != null && sodium.crypto_stream_PRIMITIVE !== 'xsalsa20') {
    throw new Error(`sodium-native's crypto_stream is ${sodium.crypto_stream_PRIMITIVE}, not xsalsa20`)
  }
  return sodium
}

/** Code of the process warning emitted once when pnet falls back to the pure-JS cipher. */
export const PNET_FALLBACK_WARNING_CODE = 'FLEETMESH_PNET_JS_CIPHER'

/**
 * Picks the keystream backend: sodium-native when `load` returns it, else
 * @noble/ciphers with a process warning (`PNET_FALLBACK_WARNING_CODE`,
 * once per call) and `onFallback(err)`; it never throws.
 *
 * @param load - loads the addon @default requireSodium
 */
export function selectPnetCipher (load: () => SodiumStreamApi = requireSodium, onFallback?: (err: Error) => void): SodiumStreamApi | undefined {
  try {
    return load()
  } catch (err: any) {
    const error = err instanceof Error ? err : new Error(String(err))
    process.emitWarning(`pnet: sodium-native could not load (${error.message}); private-network traffic uses the pure-JS XSalsa20 from @noble/ciphers, about 7x slower per core. Reinstall with \`npm ci\` on a platform sodium-native ships a prebuild for.`, { code: PNET_FALLBACK_WARNING_CODE })
    onFallback?.(error)
    return undefined
  }
}

let processCipher: { sodium?: SodiumStreamApi } | undefined

/** The backend this process uses, chosen (and warned about) on first use. */
export function pnetCipherBackend (): PnetCipherBackend {
  processCipher ??= { sodium: selectPnetCipher() }
  return processCipher.sodium != null ? 'sodium-native' : '@noble/ciphers'
}

/**
 * Creates the keystream of one direction of a pnet connection.
 *
 * @param key - the 32-byte pre-shared key (decoded swarm key)
 * @param nonce - the 24-byte nonce its sender chose
 * @param backend - force a backend @default the process's (sodium-native when it loads)
 * @throws RangeError on a key or nonce of the wrong length; Error if `backend` is 'sodium-native' and the addon cannot load
 */
export function createPnetKeystream (key: Uint8Array, nonce: Uint8Array, backend?: PnetCipherBackend): PnetKeystream {
  if (key.byteLength !== KEY_LENGTH) throw new RangeError(`pnet key must hold ${KEY_LENGTH} bytes, got ${key.byteLength}`)
  if (nonce.byteLength !== NONCE_LENGTH) throw new RangeError(`pnet nonce must hold ${NONCE_LENGTH} bytes, got ${nonce.byteLength}`)
  const chosen = backend ?? pnetCipherBackend()
  if (chosen === '@noble/ciphers') return new NobleKeystream(key, nonce)
  const sodium = backend == null ? processCipher?.sodium : requireSodium()
  if (sodium == null) return new NobleKeystream(key, nonce)
  return new SodiumKeystream(sodium, key, nonce)
}
