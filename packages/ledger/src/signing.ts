import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { InvalidSignatureError } from '@fleetmesh/protocol'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** sha2-256 of `bytes`. */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

/**
 * The bytes a signature covers, as libp2p RFC 0002 (signed envelopes)
 * defines them: `varint(len(domain)) || domain || varint(len(type)) || type
 * || varint(len(payload)) || payload`. Domain separation: a signature made
 * for a receipt can never be replayed as a countersignature or a bid.
 */
export function signingInput (domain: string, payloadType: Uint8Array, payload: Uint8Array): Uint8Array {
  const d = new TextEncoder().encode(domain)
  const parts = [varint(d.byteLength), d, varint(payloadType.byteLength), payloadType, varint(payload.byteLength), payload]
  const len = parts.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(len)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** Signs `payload` for `domain` with a node key. */
export async function signFor (key: PrivateKey, domain: string, payloadType: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  return key.sign(signingInput(domain, payloadType, payload))
}

/**
 * Verifies `signature` over `payload` for `domain` by the key inlined in
 * `signer` (Ed25519 and secp256k1 PeerIds carry their public key).
 *
 * @throws InvalidSignatureError if the PeerId carries no key or the signature does not verify
 */
export async function verifyFor (signer: PeerId, domain: string, payloadType: Uint8Array, payload: Uint8Array, signature: Uint8Array): Promise<void> {
  const key = signer.publicKey
  if (key == null) throw new InvalidSignatureError(`${signer} carries no public key (RSA PeerIds cannot sign receipts); use an Ed25519 node key`)
  let ok = false
  try {
    const input = signingInput(domain, payloadType, payload)
    ok = key.type === 'Ed25519' ? await verifyEd25519(key.raw, input, signature) : await key.verify(input, signature)
  } catch {
    ok = false
  }
  if (!ok) throw new InvalidSignatureError(`signature of ${signer} does not verify for domain "${domain}": the signed bytes were altered or signed by another key`)
}

/** SPKI DER prefix of an Ed25519 public key (RFC 8410): the raw 32 bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const ED25519_KEY_CACHE_SIZE = 4096
const ed25519Keys = new Map<string, ReturnType<typeof createPublicKey>>()

/**
 * Ed25519 verification with node's crypto and a cache of key objects: a
 * ledger verifies two signatures per receipt and thousands of receipts of
 * the same few peers, and building the key object costs more than the
 * check itself (libp2p's key.verify builds one per call). The callback
 * form runs in libuv's thread pool, so concurrent checks (a batch of
 * reconciled entries) use every core and leave the event loop free.
 */
async function verifyEd25519 (raw: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (raw.byteLength !== 32 || signature.byteLength !== 64) return false
  const k = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')
  let key = ed25519Keys.get(k)
  if (key == null) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
    if (ed25519Keys.size >= ED25519_KEY_CACHE_SIZE) {
      const oldest = ed25519Keys.keys().next().value
      if (oldest != null) ed25519Keys.delete(oldest)
    }
    ed25519Keys.set(k, key)
  }
  const k2 = key
  return new Promise<boolean>((resolve, reject) => {
    cryptoVerify(null, data, k2, signature, (err, ok) => { if (err != null) reject(err); else resolve(ok) })
  })
}

const PEER_ID_CACHE_SIZE = 4096
const peerIds = new Map<string, PeerId>()

/**
 * PeerId from its multihash bytes, cached (a ledger decodes the same few
 * workers' and requesters' PeerIds from thousands of receipts; a PeerId is
 * immutable).
 *
 * @throws Error if they are not a PeerId
 */
export function peerIdFromBytes (bytes: Uint8Array): PeerId {
  const k = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  let id = peerIds.get(k)
  if (id == null) {
    id = peerIdFromString(uint8ArrayToString(bytes, 'base58btc'))
    if (peerIds.size >= PEER_ID_CACHE_SIZE) peerIds.delete(peerIds.keys().next().value as string)
    peerIds.set(k, id)
  }
  return id
}

/** Lower-case hex of bytes (ids in logs, keys and reports). */
export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Bytes of a hex string. */
export function fromHex (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** Types bytes as backed by an ArrayBuffer (what the protons codecs declare); every buffer here is one. */
export function buf (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>
}
