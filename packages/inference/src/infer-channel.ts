import { InferMessage, MAX_TENSOR_BYTES, MessageTooLargeError } from '@fleetmesh/protocol'
import { messageStreamToDuplex } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { pushable } from 'it-pushable'
import type { Stream } from '@libp2p/interface'
import type { Pushable } from 'it-pushable'
import type { Uint8ArrayList } from 'uint8arraylist'

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

/** Largest tensor payload per frame, bytes: bigger payloads go as parts (`more`). */
export const INFER_FRAME_PART_BYTES = 1024 * 1024

export function emptyCounters (): InferCounters {
  return { inputBytesSent: 0, inputBytesReceived: 0, activationBytesSent: 0, activationBytesReceived: 0, resultBytesSent: 0, resultBytesReceived: 0 }
}

/**
 * One `/fleetmesh/infer/1.1.0` stream as a channel of InferMessage frames:
 * outgoing frames go through it-pipe (length-prefixed, the stream's
 * backpressure applies), incoming frames are decoded with a size limit.
 */
export class InferChannel {
  private readonly out: Pushable<Uint8Array>
  private readonly frames: AsyncIterator<Uint8ArrayList>
  readonly done: Promise<void>

  /**
   * @param kind - what data frames on this stream carry, for the counters: `input` (requester → stage 0 or a data-parallel worker) or `activation` (stage → stage)
   */
  constructor (readonly stream: Stream, private readonly counters: InferCounters, readonly kind: 'input' | 'activation', private readonly maxFrameBytes = MAX_TENSOR_BYTES + 4096) {
    const duplex = messageStreamToDuplex(stream)
    this.out = pushable<Uint8Array>()
    this.done = pipe(this.out, (source) => lp.encode(source), duplex.sink).catch(() => {})
    this.frames = lp.decode(duplex.source, { maxDataLength: INFER_FRAME_PART_BYTES + 4096 })[Symbol.asyncIterator]()
  }

  send (message: InferMessage): void {
    const payload = message.data ?? message.result
    if (payload != null && payload.tensors.byteLength > INFER_FRAME_PART_BYTES) {
      const all = payload.tensors
      for (let at = 0; at < all.byteLength; at += INFER_FRAME_PART_BYTES) {
        const more = at + INFER_FRAME_PART_BYTES < all.byteLength
        const part = { ...payload, tensors: all.subarray(at, at + INFER_FRAME_PART_BYTES), more, ...(message.result != null ? { receipt: more ? new Uint8Array(0) : message.result.receipt } : {}) }
        this.sendFrame(message.data != null ? { data: part as any } : { result: part as any })
      }
      return
    }
    this.sendFrame(message)
  }

  private sendFrame (message: InferMessage): void {
    const bytes = InferMessage.encode(message)
    if (message.data != null) {
      if (this.kind === 'input') this.counters.inputBytesSent += bytes.byteLength
      else this.counters.activationBytesSent += bytes.byteLength
    }
    if (message.result != null) this.counters.resultBytesSent += bytes.byteLength
    this.out.push(bytes)
  }

  private parts: Uint8Array[] = []

  /** The next message (parts joined), or undefined when the remote closed the stream. @throws on a malformed frame or a reset stream */
  async next (): Promise<InferMessage | undefined> {
    while (true) {
      const m = await this.nextFrame()
      if (m == null) return undefined
      const payload = m.data ?? m.result
      if (payload == null) return m
      if (payload.more) {
        this.parts.push(payload.tensors)
        if (this.parts.reduce((a, p) => a + p.byteLength, 0) > this.maxFrameBytes) throw new MessageTooLargeError('micro-batch tensors', this.parts.reduce((a, p) => a + p.byteLength, 0), this.maxFrameBytes)
        continue
      }
      if (this.parts.length > 0) {
        this.parts.push(payload.tensors)
        const joined = new Uint8Array(this.parts.reduce((a, p) => a + p.byteLength, 0))
        let at = 0
        for (const p of this.parts) { joined.set(p, at); at += p.byteLength }
        this.parts = []
        payload.tensors = joined
      }
      return m
    }
  }

  private async nextFrame (): Promise<InferMessage | undefined> {
    const r = await this.frames.next()
    if (r.done === true) return undefined
    const message = InferMessage.decode(r.value)
    if (message.data != null) {
      if (this.kind === 'input') this.counters.inputBytesReceived += r.value.byteLength
      else this.counters.activationBytesReceived += r.value.byteLength
    }
    if (message.result != null) this.counters.resultBytesReceived += r.value.byteLength
    return message
  }

  /** Ends our side after the queued frames are written. */
  async close (): Promise<void> {
    this.out.end()
    await this.done
  }

  abort (err: Error): void {
    this.out.end()
    this.stream.abort(err)
  }
}

/** Where a stage sends its outputs: a feed stream to the next stage's worker, or a {@link LocalInferChannel}. */
export interface FrameSink {
  send(message: InferMessage): void
  abort(err: Error): void
}

/** What a stage reads its inputs from. */
export interface FrameSource {
  next(): Promise<InferMessage | undefined>
}

/**
 * An in-process feed: when one worker holds two consecutive pipeline stages
 * (the market could place no other worker), stage k's outputs go straight
 * to stage k+1's session instead of a stream the worker cannot dial to
 * itself. Messages keep their order; `abort` ends the reader.
 */
export class LocalInferChannel implements FrameSink, FrameSource {
  private readonly queue: Pushable<InferMessage> = pushable({ objectMode: true })
  private readonly reader = this.queue[Symbol.asyncIterator]()

  send (message: InferMessage): void {
    this.queue.push(message)
  }

  abort (err: Error): void {
    this.queue.end(err)
  }

  async next (): Promise<InferMessage | undefined> {
    const r = await this.reader.next()
    return r.done === true ? undefined : r.value
  }
}

/** Reads a feed stream's frames as activations (the shared channel counted them as input). */
export class InferChannelView implements FrameSource {
  constructor (private readonly channel: FrameSource, private readonly counters: InferCounters) {}

  async next (): Promise<InferMessage | undefined> {
    const before = this.counters.inputBytesReceived
    const m = await this.channel.next()
    const delta = this.counters.inputBytesReceived - before
    this.counters.inputBytesReceived -= delta
    this.counters.activationBytesReceived += delta
    return m
  }
}
