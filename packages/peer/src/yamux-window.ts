import { StreamState } from '@chainsafe/libp2p-yamux/stream'
import type { StreamMuxerFactory } from '@libp2p/interface'

/**
 * Window updates at half a window, as yamux's own specification and its Go
 * implementation send them.
 *
 * @chainsafe/libp2p-yamux 8 sends a window update after every data frame it
 * reads (its `sendWindowUpdate` returns early only while the receive window
 * is full, and any frame read leaves it less than full): each gossip RPC, bid,
 * receipt or activation chunk a node reads costs it one frame back, a noise
 * encryption, a private-network XOR and a socket write, and costs its peer a
 * frame to read. hashicorp/yamux (the protocol's reference) sends one only
 * once the window has fallen by half or a flag is due (`delta < max/2 &&
 * flags == 0` skips it). In bench/scale's idle CPU profile (100 nodes) these
 * updates were 10 % of the stations' busy time (`handleData` →
 * `sendWindowUpdate`, 224 of 2,202 ms).
 *
 * The sender is never starved by this: it may send until its window is
 * empty, and the receiver's capacity mirrors the sender's, so by the time the
 * sender has used half the window the receiver has read half of it and sends
 * the update, while the other half is still in flight. Streams that send
 * small messages never send an update at all below the initial window
 * (YAMUX_INITIAL_STREAM_WINDOW_BYTES). The window auto-tuning (doubling when a
 * window's worth is read within 4 RTTs) runs as before, at each update sent.
 */

/** What this wrapper reads and replaces on a yamux stream (fields of @chainsafe/libp2p-yamux's `YamuxStream`). */
interface YamuxStreamWindow {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: () => void
}

/** The muxer method every yamux stream, inbound or outbound, is made by (`YamuxMuxer._newStream`). */
interface YamuxStreamFactory {
  _newStream?: (streamId: number, state: StreamState, direction: string) => YamuxStreamWindow
}

/**
 * Makes `stream` send its window updates only once half its receive window
 * is used, or while a flag (SYN/ACK, a resume from pause) is due.
 *
 * @param stream - a yamux stream (@chainsafe/libp2p-yamux `YamuxStream`)
 */
export function halfWindowUpdates (stream: YamuxStreamWindow): void {
  const original = stream.sendWindowUpdate.bind(stream)
  stream.sendWindowUpdate = () => {
    // Established: no SYN/ACK flag pending (Init and SYNReceived carry one) and not paused (a paused stream sends none anyway)
    if (stream.state === StreamState.Established && stream.recvWindowCapacity > stream.recvWindow / 2) return
    original()
  }
}

/**
 * Wraps the yamux muxer factory so that every stream of every muxer it
 * creates sends window updates at half a window (see {@link halfWindowUpdates}).
 *
 * @param inner - `yamux(init)()`
 * @throws TypeError if `inner`'s muxers have no `_newStream` (a yamux release that renamed it: the wrapper would silently do nothing)
 */
export function halfWindowMuxer (inner: StreamMuxerFactory): StreamMuxerFactory {
  return {
    protocol: inner.protocol,
    createStreamMuxer (maConn) {
      const muxer = inner.createStreamMuxer(maConn) as unknown as YamuxStreamFactory
      const make = muxer._newStream
      if (typeof make !== 'function') throw new TypeError('the yamux muxer has no _newStream: halfWindowMuxer does not fit this @chainsafe/libp2p-yamux release')
      muxer._newStream = (streamId, state, direction) => {
        const stream = make.call(muxer, streamId, state, direction)
        halfWindowUpdates(stream)
        return stream
      }
      return muxer as unknown as ReturnType<StreamMuxerFactory['createStreamMuxer']>
    }
  }
}
