import { Uint8ArrayList } from 'uint8arraylist'
import { ModelProtocolError } from './errors.js'
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { FileHandle } from 'node:fs/promises'

/**
 * Byte framing of /fleetmesh/model/1.1.0: one unsigned-varint
 * length-prefixed protobuf message each way, then (provider to fetcher) the
 * raw model bytes as they are. No it-pipe, no per-chunk encoding: the
 * provider writes views of the stored file, the fetcher copies each received
 * buffer once, into the model's final buffer.
 */

/** Prefixes an encoded message with its length (unsigned varint, as it-length-prefixed). */
export function lengthPrefixed (message: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = message.byteLength
  do {
    let byte = n & 0x7f
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    prefix.push(byte)
  } while (n > 0)
  const out = new Uint8Array(prefix.length + message.byteLength)
  out.set(prefix, 0)
  out.set(message, prefix.length)
  return out
}

/** Reads the varint at the start of `buf`: its value and length, or undefined while more bytes are needed. @throws ModelProtocolError past 4 bytes (2^28) */
function readVarint (buf: Uint8ArrayList): { value: number, bytes: number } | undefined {
  let value = 0
  for (let i = 0; i < Math.min(buf.byteLength, 4); i++) {
    const byte = buf.get(i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 }
  }
  if (buf.byteLength >= 4) throw new ModelProtocolError('a length prefix on /fleetmesh/model runs past 4 bytes: the peer does not speak the protocol')
  return undefined
}

/**
 * Runs a protobuf decode of a received /fleetmesh/model message.
 *
 * @param what - the message, for the error (e.g. "the model request of <PeerId>")
 * @throws ModelProtocolError if it does not decode
 */
export function decodeWire<T> (decode: () => T, what: string): T {
  try {
    return decode()
  } catch (err: any) {
    throw new ModelProtocolError(`${what} does not decode: ${err?.message ?? err}; the peer does not speak /fleetmesh/model`)
  }
}

/** The first length-prefixed message of a stream and the bytes read past it. */
export interface PrefixedMessage {
  message: Uint8ArrayList
  /** bytes that arrived after the message (the start of the raw model, on a fetcher) */
  rest: Uint8ArrayList
}

/**
 * Reads one length-prefixed message from `source`, buffering at most
 * `maxBytes` (+ the prefix) before it is complete.
 *
 * @param source - the stream's iterator, left positioned after the bytes returned in `rest`
 * @param maxBytes - largest message accepted, bytes
 * @returns undefined if the stream ends before any byte arrives
 * @throws ModelProtocolError if the prefix announces more than `maxBytes`, or the stream ends inside the message
 */
export async function readPrefixed (source: AsyncIterator<Uint8Array | Uint8ArrayList>, maxBytes: number): Promise<PrefixedMessage | undefined> {
  const buf = new Uint8ArrayList()
  while (true) {
    const prefix = buf.byteLength > 0 ? readVarint(buf) : undefined
    if (prefix != null) {
      if (prefix.value > maxBytes) throw new ModelProtocolError(`a /fleetmesh/model message of ${prefix.value} bytes is over the limit of ${maxBytes}`)
      const end = prefix.bytes + prefix.value
      if (buf.byteLength >= end) return { message: buf.sublist(prefix.bytes, end), rest: buf.sublist(end) }
    }
    const next = await source.next()
    if (next.done === true) {
      if (buf.byteLength === 0) return undefined
      throw new ModelProtocolError(`the stream ended inside a /fleetmesh/model message (${buf.byteLength} bytes read)`)
    }
    buf.append(next.value)
  }
}

/**
 * Writes `head` and then every piece of `body` as it is (the head rides with
 * the first piece, so no small frame goes out alone), waiting for
 * `onDrain()` whenever `send()` returns false. Nothing is copied.
 *
 * @param body - pieces of >= 64 KiB (but the last) so every noise frame is full
 * @throws the stream's error if it closes or aborts while writing; AbortError on `options.signal`; whatever `body` throws
 */
export async function sendAll (stream: Stream, head: Uint8Array, body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options?: AbortOptions): Promise<void> {
  let pending: Uint8Array | undefined = head
  for await (const piece of body) {
    const ok = stream.send(pending != null ? new Uint8ArrayList(pending, piece) : piece)
    pending = undefined
    if (!ok) await stream.onDrain(options)
  }
  if (pending != null && !stream.send(pending)) await stream.onDrain(options)
}

/**
 * Reads bytes [0, size) of an open file in pieces of `pieceBytes`, the next
 * piece read while the caller sends the current one (disk and network
 * overlap). Each piece is a fresh buffer: the stream may hold it until the
 * socket has written it.
 *
 * @throws ModelProtocolError if the file is shorter than `size` (truncated under the store)
 */
export async function * filePieces (file: FileHandle, size: number, pieceBytes: number): AsyncGenerator<Uint8Array> {
  const read = async (at: number): Promise<Uint8Array> => {
    const n = Math.min(pieceBytes, size - at)
    const buf = Buffer.allocUnsafe(n)
    let got = 0
    while (got < n) {
      const { bytesRead } = await file.read(buf, got, n - got, at + got)
      if (bytesRead === 0) throw new ModelProtocolError(`the model file ended at ${at + got} of ${size} bytes`)
      got += bytesRead
    }
    return buf
  }
  let next = size > 0 ? read(0) : undefined
  for (let at = 0; next != null;) {
    const piece: Uint8Array = await next
    at += piece.byteLength
    next = at < size ? read(at) : undefined
    // a read still in flight when the consumer stops must not reject unhandled
    next?.catch(() => {})
    yield piece
  }
}
