import { decodeTensorHeader, encodeTensorHeader, InferMessage, InvalidTensorError, MAX_TENSOR_BYTES, MessageTooLargeError, tensorsFromPayload } from '@fleetmesh/protocol'
import { pushable } from 'it-pushable'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { COALESCE_BYTES, MAX_INFER_HEADER_BYTES } from './constants.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type { Stream } from '@libp2p/interface'
import type { Pushable } from 'it-pushable'

/** Bytes moved on infer streams, by what they carried. */
export interface InferCounters {
  /** requester → first worker: job inputs */
  inputBytesSent: number
  inputBytesReceived: number
  /** stage → next stage: intermediate activations */
  activationBytesSent: number
  activationBytesReceived: number
  /** worker → requester: outputs */
  resultBytesSent: number
  resultBytesReceived: number
}

export function emptyCounters (): InferCounters {
  return { inputBytesSent: 0, inputBytesReceived: 0, activationBytesSent: 0, activationBytesReceived: 0, resultBytesSent: 0, resultBytesReceived: 0 }
}

/**
 * One frame of the infer protocol: the message, and for `data`, `result`
 * and `snapshot` the tensors that travelled raw behind it (`data.tensors` /
 * `result.tensors` / `snapshot.tensors` then hold only their header).
 */
export type InferFrame = InferMessage & { payload?: WireTensor[] }

/**
 * One `/fleetmesh/infer/1.2.0` stream as a channel of frames.
 *
 * On the wire a frame is a varint-length-prefixed InferMessage header
 * followed, for `data` and `result`, by the tensors' bytes as they sit in
 * memory (no protobuf re-encoding, no re-chunking): `encodeTensorHeader`
 * puts their names, dtypes and dims in the header, so the reader knows the
 * payload's length before it buffers a byte of it, and refuses a payload
 * over its limit at once. The reader builds typed arrays straight over the
 * received bytes where they sit in one chunk at an aligned offset.
 *
 * Writes go out in order through one queue that waits for the stream's
 * `onDrain()` whenever `send()` reports a full buffer; small pieces are
 * coalesced up to COALESCE_BYTES so noise frames stay large.
 */
export class InferChannel implements FrameSink, FrameSource {
  private writing: Promise<void> = Promise.resolve()
  private queuedBytes = 0
  private readonly buffer = new Uint8ArrayList()
  private readonly chunks: AsyncIterator<Uint8Array | Uint8ArrayList>
  private failed?: Error
  /** the remote broke the framing (see {@link InferChannel.malformed}) */
  private brokeFraming = false

  /**
   * @param kind - what data frames on this stream carry, for the counters: `input` (requester → stage 0 or a data-parallel worker) or `activation` (stage → stage)
   * @param maxFrameBytes - largest tensor payload of one frame accepted, bytes
   */
  constructor (readonly stream: Stream, private readonly counters: InferCounters, readonly kind: 'input' | 'activation', private readonly maxFrameBytes = MAX_TENSOR_BYTES + 4096) {
    this.chunks = stream[Symbol.asyncIterator]()
  }

  /**
   * True once `next()` threw because of what the remote sent, not because
   * the stream ended: a malformed length prefix, a header over
   * MAX_INFER_HEADER_BYTES or one that does not decode, or (with
   * `mustOpen`) a first frame that is not `open`. No honest peer does this.
   */
  get malformed (): boolean { return this.brokeFraming }

  /** bytes queued for writing and not yet handed to the stream */
  get pending (): number { return this.queuedBytes }

  /**
   * Queues a frame; `payload` are the tensors of a `data`, `result` or
   * `snapshot` frame. Resolves once the frame is handed to the stream (callers may
   * ignore it; frames keep their order).
   *
   * @throws InvalidTensorError, MessageTooLargeError for tensors that cannot be framed
   */
  send (message: InferMessage, payload?: WireTensor[]): Promise<void> {
    const body = message.data ?? message.result ?? message.snapshot
    let pieces: Uint8Array[] = []
    if (body != null) {
      const { header, payload: raw } = encodeTensorHeader(payload ?? [], Number.MAX_SAFE_INTEGER)
      body.tensors = header
      pieces = raw
    }
    const head = InferMessage.encode(message)
    const prefix = varint.encode(head.byteLength)
    const total = prefix.byteLength + head.byteLength + pieces.reduce((a, p) => a + p.byteLength, 0)
    if (message.data != null) {
      if (this.kind === 'input') this.counters.inputBytesSent += total
      else this.counters.activationBytesSent += total
    }
    if (message.result != null || message.snapshot != null) this.counters.resultBytesSent += total
    const writes = coalesce([prefix, head, ...pieces])
    this.queuedBytes += total
    const done = this.writing.then(async () => {
      for (const w of writes) {
        if (this.failed != null) throw this.failed
        if (!this.stream.send(w)) await this.stream.onDrain()
      }
    }).finally(() => { this.queuedBytes -= total })
    this.writing = done.catch((err) => { this.failed ??= err })
    return done
  }

  /**
   * The next frame, or undefined when the remote closed the stream.
   * `mustOpen`: the frame must be `open` (a stream's first), refused
   * before any payload is read.
   *
   * @throws MessageTooLargeError for a header or payload over the limits (checked before buffering the payload), InvalidTensorError for a header that does not decode or is malformed, or the stream's error when it was reset
   */
  async next (options: { mustOpen?: boolean } = {}): Promise<InferFrame | undefined> {
    const headLen = await this.readVarint()
    if (headLen == null) return undefined
    if (headLen > MAX_INFER_HEADER_BYTES) throw this.broke(new MessageTooLargeError('infer frame header', headLen, MAX_INFER_HEADER_BYTES))
    await this.fill(headLen)
    let message: InferFrame
    try {
      message = InferMessage.decode(this.buffer.subarray(0, headLen))
    } catch (err: any) {
      throw this.broke(new InvalidTensorError(`infer frame header does not decode: ${err?.message ?? err}`))
    }
    this.buffer.consume(headLen)
    // a stream's first frame names its lease: nothing it carries is buffered before that lease is checked
    if (options.mustOpen === true && message.open == null) throw this.broke(new InvalidTensorError('the first frame of an infer stream must be open'))
    let received = varint.encodingLength(headLen) + headLen
    const body = message.data ?? message.result ?? message.snapshot
    if (body != null) {
      const { slots, payloadBytes } = decodeTensorHeader(body.tensors, this.maxFrameBytes)
      await this.fill(payloadBytes)
      const chunks = [...this.buffer.sublist(0, payloadBytes)]
      this.buffer.consume(payloadBytes)
      message.payload = tensorsFromPayload(slots, chunks)
      received += payloadBytes
    }
    if (message.data != null) {
      if (this.kind === 'input') this.counters.inputBytesReceived += received
      else this.counters.activationBytesReceived += received
    }
    if (message.result != null || message.snapshot != null) this.counters.resultBytesReceived += received
    return message
  }

  /** Marks the framing broken by the remote; returns `err` to throw. */
  private broke (err: Error): Error {
    this.brokeFraming = true
    return err
  }

  /** Reads a varint length (undefined at a clean end of stream). */
  private async readVarint (): Promise<number | undefined> {
    while (true) {
      if (this.buffer.byteLength > 0) {
        try {
          const n = varint.decode(this.buffer)
          this.buffer.consume(varint.encodingLength(n))
          return n
        } catch (err) {
          if (this.buffer.byteLength >= 10) throw this.broke(new InvalidTensorError('infer frame: malformed length prefix'))
        }
      }
      if (!await this.pull()) {
        if (this.buffer.byteLength === 0) return undefined
        throw new InvalidTensorError('infer stream ended inside a frame')
      }
    }
  }

  /** Buffers at least `n` bytes. @throws InvalidTensorError when the stream ends first */
  private async fill (n: number): Promise<void> {
    while (this.buffer.byteLength < n) {
      if (!await this.pull()) throw new InvalidTensorError(`infer stream ended ${n - this.buffer.byteLength} bytes inside a frame`)
    }
  }

  private async pull (): Promise<boolean> {
    const r = await this.chunks.next()
    if (r.done === true) return false
    this.buffer.append(r.value)
    return true
  }

  /** Ends our side after the queued frames are written. */
  async close (): Promise<void> {
    await this.writing
    await this.stream.close().catch(() => {})
  }

  abort (err: Error): void {
    this.failed ??= err
    this.stream.abort(err)
  }
}

/** Joins runs of small pieces into writes of up to COALESCE_BYTES; large pieces go as they are. */
function coalesce (pieces: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let run: Uint8Array[] = []
  let runBytes = 0
  const flush = (): void => {
    if (run.length === 1) out.push(run[0] as Uint8Array)
    else if (run.length > 1) {
      const joined = new Uint8Array(runBytes)
      let at = 0
      for (const p of run) { joined.set(p, at); at += p.byteLength }
      out.push(joined)
    }
    run = []
    runBytes = 0
  }
  for (const p of pieces) {
    if (p.byteLength >= COALESCE_BYTES) { flush(); out.push(p); continue }
    if (runBytes + p.byteLength > COALESCE_BYTES) flush()
    run.push(p)
    runBytes += p.byteLength
  }
  flush()
  return out
}

/** Where a stage sends its outputs: a feed stream to the next stage's worker, or a {@link LocalInferChannel}. */
export interface FrameSink {
  send(message: InferMessage, payload?: WireTensor[]): Promise<void>
  abort(err: Error): void
}

/** What a stage reads its inputs from. */
export interface FrameSource {
  next(): Promise<InferFrame | undefined>
}

/**
 * An in-process feed: when one worker holds two consecutive pipeline stages
 * (the market could place no other worker), stage k's outputs go straight
 * to stage k+1's session, tensors and all, instead of a stream the worker
 * cannot dial to itself. Frames keep their order; `abort` ends the reader.
 */
export class LocalInferChannel implements FrameSink, FrameSource {
  private readonly queue: Pushable<InferFrame> = pushable({ objectMode: true })
  private readonly reader = this.queue[Symbol.asyncIterator]()

  async send (message: InferMessage, payload?: WireTensor[]): Promise<void> {
    this.queue.push({ ...message, payload })
  }

  abort (err: Error): void {
    this.queue.end(err)
  }

  async next (): Promise<InferFrame | undefined> {
    const r = await this.reader.next()
    return r.done === true ? undefined : r.value
  }
}

/** Reads a feed stream's frames as activations (the shared channel counted them as input). */
export class InferChannelView implements FrameSource {
  constructor (private readonly channel: FrameSource, private readonly counters: InferCounters) {}

  async next (): Promise<InferFrame | undefined> {
    const before = this.counters.inputBytesReceived
    const m = await this.channel.next()
    const delta = this.counters.inputBytesReceived - before
    this.counters.inputBytesReceived -= delta
    this.counters.activationBytesReceived += delta
    return m
  }
}
