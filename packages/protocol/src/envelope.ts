import { RecordEnvelope } from '@libp2p/peer-record'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { InvalidEnvelopeError, InvalidSignatureError, MessageTooLargeError } from './errors.js'
import { MAX_ENVELOPE_BYTES } from './limits.js'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'

/**
 * Signed envelopes, as specified by libp2p RFC 0002 ("Signed Envelopes"):
 * the signature covers `varint(len(domain)) || domain || varint(len(type)) ||
 * type || varint(len(payload)) || payload`, so a signature made for one
 * domain (say, a certificate) can never be replayed as another (a bid).
 * The envelope format is libp2p's own (@libp2p/peer-record).
 */

/** An envelope that was opened and whose signature verified. */
export interface OpenedEnvelope {
  /** key that signed the envelope */
  publicKey: PublicKey
  /** PeerId derived from `publicKey` */
  signer: PeerId
  /** the payload type (codec) bytes given to `sealEnvelope` */
  payloadType: Uint8Array
  /** the signed payload */
  payload: Uint8Array
  /** the full marshalled envelope (as received) */
  bytes: Uint8Array
}

/** Options for {@link openEnvelope}. */
export interface OpenEnvelopeOptions {
  /** payload type the envelope must carry; any type is accepted if omitted */
  payloadType?: Uint8Array
  /**
   * largest accepted envelope, bytes
   *
   * @default MAX_ENVELOPE_BYTES (64 KiB)
   */
  maxBytes?: number
}

/**
 * Seals `payload` in a libp2p signed envelope signed by `privateKey` for
 * `domain`.
 *
 * @param privateKey - the signer's key (a node's libp2p key or an authority key)
 * @param domain - domain separation string, e.g. `fleetmesh-certificate`
 * @param payloadType - bytes naming the payload's format
 * @param payload - the bytes to sign
 * @returns the marshalled envelope
 */
export async function sealEnvelope (privateKey: PrivateKey, domain: string, payloadType: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal({
    domain,
    codec: payloadType,
    marshal: () => payload,
    equals: () => false
  }, privateKey)
  return envelope.marshal()
}

/**
 * Decodes a marshalled envelope and verifies its signature for `domain`.
 *
 * @throws MessageTooLargeError if `bytes` is over `options.maxBytes`
 * @throws InvalidEnvelopeError if the bytes do not decode or carry the wrong payload type
 * @throws InvalidSignatureError if the signature does not verify for `domain`
 */
export async function openEnvelope (bytes: Uint8Array, domain: string, options: OpenEnvelopeOptions = {}): Promise<OpenedEnvelope> {
  const maxBytes = options.maxBytes ?? MAX_ENVELOPE_BYTES
  if (bytes.byteLength > maxBytes) {
    throw new MessageTooLargeError('signed envelope', bytes.byteLength, maxBytes)
  }
  let envelope: RecordEnvelope
  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
  } catch (err: any) {
    throw new InvalidEnvelopeError(`bytes are not a libp2p signed envelope (${err?.message ?? String(err)}); the sender must seal messages with sealEnvelope`)
  }
  if (options.payloadType != null && !uint8ArrayEquals(envelope.payloadType, options.payloadType)) {
    throw new InvalidEnvelopeError(`envelope carries payload type "${new TextDecoder().decode(envelope.payloadType)}", expected "${new TextDecoder().decode(options.payloadType)}"`)
  }
  let valid = false
  try {
    valid = await envelope.validate(domain)
  } catch {
    valid = false
  }
  if (!valid) {
    throw new InvalidSignatureError(`envelope signature does not verify for domain "${domain}": it was altered or signed for another purpose`)
  }
  return {
    publicKey: envelope.publicKey,
    signer: peerIdFromPublicKey(envelope.publicKey),
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    bytes
  }
}
