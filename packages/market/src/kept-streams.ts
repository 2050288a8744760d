import { lpStream } from '@libp2p/utils'
import { MAX_MARKET_DIRECT_BYTES } from '@fleetmesh/protocol'
import type { PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/**
 * A market stream this node opened and may send its next message over: the
 * stream and the length-prefixed reader/writer that has read it so far
 * (one per stream: a second reader would lose what the first buffered).
 */
export interface KeptStream {
  readonly peer: string
  readonly stream: Stream
  readonly lp: LengthPrefixedStream<Stream>
}

/** Limits of a KeptStreams pool. */
export interface KeptStreamsInit {
  /** ms an unused stream is kept before it is closed; must stay under the remote's wait for a next message (its `directTimeoutMs`) so that this side always closes first */
  idleMs: number
  /** unused streams kept per peer */
  perPeer: number
  /** unused streams kept in all */
  max: number
}

/**
 * Outbound market streams kept open between exchanges, per peer, so that
 * the next message to the same peer (a lease's award, its heartbeats, a
 * cancel) does not pay a new stream's multistream-select round trip first:
 * in libp2p 3.3 over yamux `openStream` resolves only once the remote has
 * echoed the protocol, and at 200 nodes in one machine (bench/scale) that
 * echo took as long as the award's own answer.
 *
 * Bounded: at most `perPeer` unused streams per peer and `max` in all
 * (further ones are closed at once), each closed after `idleMs` unused. A
 * stream in use is not in the pool. Nothing here reads or writes; the
 * market shell does (market.ts `exchange`).
 */
export class KeptStreams {
  private readonly init: KeptStreamsInit
  private readonly idle = new Map<string, Array<{ kept: KeptStream, timer: ReturnType<typeof setTimeout> }>>()
  private count = 0

  constructor (init: KeptStreamsInit) {
    this.init = init
  }

  /** Unused streams in the pool now. */
  get size (): number {
    return this.count
  }

  /** Wraps a freshly opened stream for the pool. */
  static wrap (peer: PeerId, stream: Stream): KeptStream {
    return { peer: peer.toString(), stream, lp: lpStream(stream, { maxDataLength: MAX_MARKET_DIRECT_BYTES }) }
  }

  /** Takes an unused stream to `peer` that is still open both ways, or undefined; closed ones met on the way are dropped. */
  take (peer: PeerId): KeptStream | undefined {
    const key = peer.toString()
    const list = this.idle.get(key) ?? []
    for (let entry = list.pop(); entry != null; entry = list.pop()) {
      clearTimeout(entry.timer)
      this.count--
      if (list.length === 0) this.idle.delete(key)
      if (usable(entry.kept.stream)) return entry.kept
      entry.kept.stream.abort(new Error('kept market stream closed by the remote'))
    }
    return undefined
  }

  /** Puts a stream back after a completed exchange; closes it instead when it is not open both ways or the pool is full. */
  put (kept: KeptStream): void {
    const list = this.idle.get(kept.peer) ?? []
    if (!usable(kept.stream) || list.length >= this.init.perPeer || this.count >= this.init.max) {
      close(kept)
      return
    }
    const entry = { kept, timer: setTimeout(() => { this.expire(kept) }, this.init.idleMs) }
    entry.timer.unref?.()
    list.push(entry)
    this.idle.set(kept.peer, list)
    this.count++
  }

  /** Closes every unused stream (the service stops). */
  clear (): void {
    for (const list of this.idle.values()) {
      for (const { kept, timer } of list) {
        clearTimeout(timer)
        close(kept)
      }
    }
    this.idle.clear()
    this.count = 0
  }

  private expire (kept: KeptStream): void {
    const list = this.idle.get(kept.peer)
    const i = list?.findIndex(e => e.kept === kept) ?? -1
    if (list == null || i < 0) return
    list.splice(i, 1)
    if (list.length === 0) this.idle.delete(kept.peer)
    this.count--
    close(kept)
  }
}

/** True while both directions of the stream are open. */
function usable (stream: Stream): boolean {
  return stream.status === 'open' && stream.readStatus === 'readable' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
}

function close (kept: KeptStream): void {
  void kept.stream.close({ signal: AbortSignal.timeout(1000) }).catch((err: Error) => { kept.stream.abort(err) })
}
