import { InvalidParametersError } from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import { PNET_HANDSHAKE_TIMEOUT_MS } from './constants.js'
import { InvalidSwarmKeyError } from './errors.js'
import { createPnetKeystream } from './pnet-cipher.js'
import type { PnetKeystream } from './pnet-cipher.js'
import type { AbortOptions, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * libp2p private networks (pnet, the libp2p "PSK v1" spec), wire-compatible
 * with @libp2p/pnet: each side sends a random 24-byte nonce, then every
 * byte each way is XORed with the XSalsa20 keystream of (its sender's
 * nonce, the 32-byte pre-shared key).
 *
 * Why not @libp2p/pnet itself: its cipher (the `xsalsa20` package, v1.2.0)
 * keeps one WebAssembly memory for every connection in the process and each
 * cipher caches a view of it; a large message grows the memory, every other
 * cipher's view goes stale, and each of their next updates grows it again,
 * until `WebAssembly.Memory.grow(): Maximum memory size exceeded` kills the
 * node (measured here: a 4-worker data-parallel job with 2 MB results; fixed
 * upstream, not yet released). This protector keeps one keystream state per
 * direction of each connection and nothing shared: libsodium's XSalsa20
 * through sodium-native (~3.0 GB/s per core, 7x the pure-JS cipher, which
 * was the single largest cost of a pnet stream), falling back to
 * @noble/ciphers' audited pure-JS XSalsa20 with a warning when the addon
 * cannot load (see pnet-cipher.ts). Each buffer is XORed once into a fresh
 * output; a Uint8ArrayList from noise is not concatenated first.
 */

/**
 * What a libp2p peer sends first over a protected connection: the
 * length-prefixed multistream-select header with which the connection
 * encrypter is negotiated (libp2p's connection upgrade always starts so).
 * With a wrong swarm key the first decrypted bytes are noise, and without
 * a key they are not even encrypted; checking them turns both into an
 * immediate failure instead of a wait for a length prefix that never
 * completes.
 */
const FIRST_BYTES = Uint8Array.from([19, ...new TextEncoder().encode('/multistream/1.0.0\n')])

const NONCE_LENGTH = 24
const KEY_LENGTH = 32

/** Decodes a PSK v1 swarm key file into its 32-byte key. @throws InvalidSwarmKeyError */
export function decodeSwarmKey (swarmKey: Uint8Array): Uint8Array {
  const lines = new TextDecoder().decode(swarmKey).split(/\r\n|\r|\n/g)
  const hex = lines[2]?.trim() ?? ''
  if (lines[0] !== '/key/swarm/psk/1.0.0/' || lines[1] !== '/base16/' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidSwarmKeyError('swarm key is not a libp2p PSK v1 key')
  }
  return Uint8Array.from(hex.match(/../g) ?? [], h => parseInt(h, 16))
}

interface BoxInit extends Omit<AbstractMultiaddrConnectionInit, 'remoteAddr' | 'direction'> {
  maConn: MultiaddrConnection
  localNonce: Uint8Array
  remoteNonce: Uint8Array
  psk: Uint8Array
  /** ms since the epoch by which the remote's first bytes must have checked out */
  checkBy: number
}

class BoxedConnection extends AbstractMultiaddrConnection {
  private readonly maConn: MultiaddrConnection
  private readonly inbound: PnetKeystream
  private readonly outbound: PnetKeystream
  /** decrypted bytes held until the first FIRST_BYTES.length have checked out; undefined once they have */
  private held?: Uint8Array[] = []
  private heldBytes = 0
  private checkTimer?: ReturnType<typeof setTimeout>

  constructor (init: BoxInit) {
    super({ ...init, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction })
    this.maConn = init.maConn
    this.inbound = createPnetKeystream(init.psk, init.remoteNonce)
    this.outbound = createPnetKeystream(init.psk, init.localNonce)
    this.checkTimer = setTimeout(() => {
      this.wrongKey(`no libp2p handshake within ${PNET_HANDSHAKE_TIMEOUT_MS} ms of connecting`)
    }, Math.max(0, init.checkBy - Date.now()))
    this.maConn.addEventListener('message', (evt) => {
      // a list is XORed buffer by buffer into one output: one copy, no concatenation first
      this.receive(this.inbound.xor(evt.data as Uint8Array | Uint8ArrayList))
    })
    this.maConn.addEventListener('drain', () => { this.onMuxerDrain() })
    this.maConn.addEventListener('close', (evt: any) => {
      if (evt.error != null) {
        if (evt.local === true) this.abort(evt.error)
        else this.onRemoteReset()
      } else {
        this.onTransportClosed()
      }
      clearTimeout(this.checkTimer)
    })
  }

  /** Passes decrypted bytes on, once the first ones proved that both sides hold the same key. */
  private receive (data: Uint8Array): void {
    if (this.held == null) {
      this.onData(data)
      return
    }
    const from = this.heldBytes
    for (let i = 0; i < data.byteLength && from + i < FIRST_BYTES.byteLength; i++) {
      if (data[i] !== FIRST_BYTES[from + i]) {
        this.wrongKey('the first bytes do not decrypt to a libp2p handshake')
        return
      }
    }
    this.held.push(data)
    this.heldBytes += data.byteLength
    if (this.heldBytes < FIRST_BYTES.byteLength) return
    clearTimeout(this.checkTimer)
    const held = this.held
    this.held = undefined
    for (const buf of held) this.onData(buf)
  }

  private wrongKey (why: string): void {
    if (this.held == null) return
    this.held = undefined
    clearTimeout(this.checkTimer)
    this.log('dropping the connection: %s - the remote holds another swarm key, or none', why)
    this.maConn.abort(new InvalidSwarmKeyError(`connection from ${this.maConn.remoteAddr.toString()} dropped: ${why}; the remote holds another swarm key, or none`))
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.maConn.close(options)
  }

  sendData (data: Uint8ArrayList): SendResult {
    return { sentBytes: data.byteLength, canSendMore: this.maConn.send(this.outbound.xor(data)) }
  }

  sendReset (err: Error): void {
    this.maConn.abort(err)
  }

  sendPause (): void {
    this.maConn.pause()
  }

  sendResume (): void {
    this.maConn.resume()
  }
}

class SwarmKeyProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = '@fleetmesh/pnet'
  private readonly psk: Uint8Array

  constructor (swarmKey: Uint8Array, private readonly timeoutMs: number = PNET_HANDSHAKE_TIMEOUT_MS) {
    this.psk = decodeSwarmKey(swarmKey)
    if (this.psk.byteLength !== KEY_LENGTH) throw new InvalidSwarmKeyError('swarm key must hold 32 bytes')
  }

  async protect (connection: MultiaddrConnection, options?: AbortOptions): Promise<MultiaddrConnection> {
    if (connection == null) throw new InvalidParametersError('No connection for the handshake provided')
    const log = connection.log.newScope('pnet')
    // the nonce exchange and the first bytes after it are bounded by our own
    // timeout, not only by the (much longer) upgrade or dial timeout
    const checkBy = Date.now() + this.timeoutMs
    const signals = [AbortSignal.timeout(this.timeoutMs)]
    if (options?.signal != null) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))
    const bytes = byteStream(connection)
    const [result] = await Promise.all([
      bytes.read({ bytes: NONCE_LENGTH, signal }),
      bytes.write(localNonce, { signal })
    ])
    log('exchanged nonces')
    return new BoxedConnection({ localNonce, remoteNonce: result.subarray(), psk: this.psk, maConn: bytes.unwrap(), log, checkBy } as BoxInit)
  }
}

/**
 * A libp2p connection protector for a swarm key (PSK v1 file bytes),
 * interoperable with @libp2p/pnet's `preSharedKey`.
 *
 * A connection whose first decrypted bytes are not a libp2p handshake, or
 * that sends none within `timeoutMs` of connecting, is dropped at once: a
 * wrong or missing key fails on both sides within `timeoutMs`.
 *
 * @param timeoutMs - time from connecting until the remote's nonce and first handshake bytes must have arrived, ms @default PNET_HANDSHAKE_TIMEOUT_MS (600)
 * @throws InvalidSwarmKeyError
 */
export function swarmKeyProtector (swarmKey: Uint8Array, timeoutMs = PNET_HANDSHAKE_TIMEOUT_MS): () => ConnectionProtector {
  const protector = new SwarmKeyProtector(swarmKey, timeoutMs)
  return () => protector
}
