import { INFER_PROTOCOL } from '@fleetmesh/protocol'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { OPEN_STREAM_TIMEOUT_MS } from './constants.js'
import { InferChannel, LocalInferChannel } from './infer-channel.js'
import type { FrameSink, FrameSource } from './infer-channel.js'
import type { WorkerContext } from './worker.js'
import type { InferOpen } from '@fleetmesh/protocol'
import type { PeerId } from '@libp2p/interface'

/**
 * Opens the feed from a stage to the next one (`open.next`), for a job's
 * stage and a session's alike: `feed` is the `open` frame the next stage's
 * worker gets. A worker that also holds the next stage feeds it in
 * process (`serveLocal` runs it over a LocalInferChannel); otherwise an
 * infer stream to that worker is opened within OPEN_STREAM_TIMEOUT_MS and
 * `feed` sent on it.
 *
 * @param maxFrameBytes - the channel's frame limit, bytes (the channel's default when undefined)
 * @throws what `openStream` throws (unreachable worker, timeout)
 */
export async function openNextStage (ctx: WorkerContext, open: InferOpen, feed: InferOpen, serveLocal: (feed: InferOpen, channel: FrameSource, remote: PeerId) => Promise<void>, maxFrameBytes?: number): Promise<FrameSink> {
  const next = peerIdFromMultihash(Digest.decode(open.next))
  if (next.equals(ctx.peerId)) {
    const local = new LocalInferChannel()
    void serveLocal(feed, local, ctx.peerId).catch((err: any) => {
      ctx.log('local %s of lease %s failed - %s', feed.kind, open.nextLeaseId, err?.message ?? err)
    })
    return local
  }
  const stream = await ctx.connectionManager.openStream(next, INFER_PROTOCOL, { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS), runOnLimitedConnection: true })
  const channel = new InferChannel(stream, ctx.counters, 'activation', maxFrameBytes)
  channel.send({ open: feed })
  return channel
}
