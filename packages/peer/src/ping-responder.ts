import { PingResponseTimeoutError } from './errors.js'
import type { Connection, Stream } from '@libp2p/interface'

/**
 * The answering side of `/ipfs/ping/1.0.0`: echoes every byte until the
 * pinger closes its side, then closes; a stream open longer than
 * `timeoutMs` is aborted. It replaces the handler of `@libp2p/ping`, which
 * arms an `AbortSignal.timeout` for each ping it answers and never disarms
 * it: `timeoutMs` after every answered ping (the connection monitor's, the
 * DHT's, findPeers') that timer fired, built two errors and reset the
 * stream already closed, a frame to the pinger and work on both sides (7 %
 * of the CPU samples of an idle vehicle process and 2 % of a station's,
 * bench/scale at 100 nodes). This one clears its timer when the stream ends.
 *
 * @param timeoutMs - longest life of one ping stream, ms (@libp2p/ping's TIMEOUT is 10000)
 */
export function pingResponder (timeoutMs: number): (stream: Stream, connection: Connection) => Promise<void> {
  return async (stream) => {
    const timer = setTimeout(() => { stream.abort(new PingResponseTimeoutError(`ping stream open for over ${timeoutMs} ms: aborted`)) }, timeoutMs)
    try {
      for await (const buf of stream) {
        if (stream.status !== 'open') break
        if (!stream.send(buf)) await drained(stream)
      }
      if (stream.status === 'open') await stream.close()
    } catch (err: any) {
      stream.abort(err)
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Resolves once `stream` can take more bytes; rejects when it closes first. */
async function drained (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    const onDrain = (): void => { done(); resolve() }
    const onClose = (): void => { done(); reject(new PingResponseTimeoutError('ping stream closed while its echo waited to be sent')) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

/**
 * Wraps `@libp2p/ping`'s service factory so that the service answers with
 * {@link pingResponder}; its own `ping()` (the asking side) is unchanged.
 */
export function withPingResponder<T> (factory: (components: any) => T, timeoutMs: number): (components: any) => T {
  return (components) => {
    const service = factory(components) as T & { handlePing?: unknown }
    // registered by the service's start(), after this
    if (typeof service.handlePing === 'function') service.handlePing = pingResponder(timeoutMs)
    return service
  }
}
