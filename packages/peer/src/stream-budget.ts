import { takeToken } from '@fleetmesh/market'
import { InboundStreamFloodError } from './errors.js'
import type { Connection, Logger, Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

/**
 * A budget of inbound streams per connection, before protocol negotiation.
 *
 * libp2p refuses a stream over a protocol's `maxInboundStreams` only after
 * multistream-select has negotiated it, and keeps a 10 s negotiation
 * timer per stream; an admitted peer that opens streams as fast as it can
 * (bench/adversary's feed-open flood: ~1,900 streams/s, nearly all over
 * the infer limit) thus makes the node allocate for every one of them,
 * and the node's heap, and its RSS, grow with the rate. Here each muxer
 * the node creates counts the streams its remote opens with a token
 * bucket (in the connection's 'stream' listener, which the muxer's
 * wrapper wraps): a stream over the budget is reset at once, before negotiation,
 * and once a connection has had `cutAfter` streams refused, its peer is
 * handed to `onFlood` (the mesh node refuses it for
 * STREAM_FLOOD_BACKOFF_MS) and the connection is closed.
 */

/** A per-connection inbound stream budget. Plain data. */
export interface StreamBudget {
  /** inbound streams per second, sustained */
  perSecond: number
  /** inbound streams in a burst */
  burst: number
  /** refused streams after which the connection is cut */
  cutAfter: number
}

/** What the budgeted muxer factory needs besides the budget. */
export interface StreamBudgetInit extends StreamBudget {
  log: Logger
  /** the connection whose muxer refused `cutAfter` streams, called once before it is closed */
  onFlood?: (connection: Connection | undefined, refused: number) => void
  /** finds the connection a muxer belongs to (the connection is built after its muxer, over the same `streams` array) */
  connectionOf?: (muxer: StreamMuxer) => Connection | undefined
}

/** Counts of one muxer's inbound streams. */
interface Bucket {
  tokens: number
  at: number
  refused: number
  cut: boolean
}

/**
 * Wraps a stream muxer factory so that every muxer it creates holds its
 * remote to `init`'s inbound stream budget (see the module comment).
 * Streams this node opens are not counted.
 */
export function budgetedMuxer (inner: StreamMuxerFactory, init: StreamBudgetInit): StreamMuxerFactory {
  return {
    protocol: inner.protocol,
    createStreamMuxer (maConn) {
      const muxer = inner.createStreamMuxer(maConn)
      const bucket: Bucket = { tokens: init.burst, at: Date.now(), refused: 0, cut: false }
      /** each remote stream's verdict, taken once whatever the number of listeners */
      const verdicts = new WeakMap<Stream, boolean>()
      const admit = (stream: Stream): boolean => {
        const known = verdicts.get(stream)
        if (known != null) return known
        const ok = takeToken(bucket, init, Date.now())
        verdicts.set(stream, ok)
        if (ok) return true
        bucket.refused++
        const cut = bucket.refused >= init.cutAfter && !bucket.cut
        // the connection shares the muxer's stream list: look it up while the stream is still in it
        const connection = cut ? init.connectionOf?.(muxer) : undefined
        stream.abort(new InboundStreamFloodError(`inbound stream over this node's budget of ${init.perSecond}/s (burst ${init.burst}) on one connection`))
        if (!cut) return false
        bucket.cut = true
        init.log('connection %s: %d inbound streams over budget, cutting it', connection?.id ?? '?', bucket.refused)
        try { init.onFlood?.(connection, bucket.refused) } catch {}
        muxer.abort(new InboundStreamFloodError(`${bucket.refused} inbound streams over this node's budget of ${init.perSecond}/s (burst ${init.burst}): the connection is closed`))
        return false
      }
      // the muxer holds remote streams until a 'stream' listener is added (the connection's, once it is built), so
      // the budget wraps that listener instead of adding its own: an over-budget stream never reaches negotiation
      const wrapped = new WeakMap<object, (evt: CustomEvent<Stream>) => void>()
      const listener = (l: any): (evt: CustomEvent<Stream>) => void => {
        let w = wrapped.get(l)
        if (w == null) {
          w = (evt) => { if (admit(evt.detail)) typeof l === 'function' ? l(evt) : l.handleEvent(evt) }
          wrapped.set(l, w)
        }
        return w
      }
      return new Proxy(muxer, {
        get (target, prop) {
          if (prop === 'addEventListener' || prop === 'removeEventListener') {
            return (type: string, l: any, options?: any) => {
              const fn = (target as any)[prop].bind(target)
              return type === 'stream' && l != null ? fn(type, listener(l), options) : fn(type, l, options)
            }
          }
          const value = Reflect.get(target, prop, target)
          return typeof value === 'function' ? value.bind(target) : value
        }
      })
    }
  }
}
