import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { nextLoopbackHost } from '@fleetmesh/test-utils'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A plain libp2p node that holds the swarm key but runs none of fleetmesh's
 * services: an insider without a certificate. It speaks gossipsub, so it can
 * try to push messages into the mesh. It listens on, and dials from, its
 * own loopback host (libp2p limits inbound connections per host).
 */
export async function createRawNode (swarmKey: Uint8Array | undefined, options: { start?: boolean, privateKey?: PrivateKey } = {}): Promise<Libp2p<{ pubsub: GossipSub, identify: unknown }>> {
  const host = nextLoopbackHost()
  return createLibp2p({
    start: options.start,
    privateKey: options.privateKey,
    addresses: { listen: [`/ip4/${host}/tcp/0`] },
    transports: [tcp({ dialOpts: { localAddress: host } as any })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: swarmKey != null ? preSharedKey({ psk: swarmKey }) : undefined,
    connectionManager: { dialTimeout: 2000 },
    services: {
      identify: identify(),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign', allowPublishToZeroTopicPeers: true })
    }
  })
}

/**
 * Sends one hand-encoded Kad-DHT request (`GET_PROVIDERS` = 3 or `FIND_NODE`
 * = 4 for `key`) on `protocol` and resolves with the number of response
 * bytes received (0: no answer, the stream was reset or closed).
 */
export async function probeDht (raw: Libp2p<any>, target: Multiaddr, protocol: string, type: 3 | 4, key: Uint8Array): Promise<number> {
  try {
    const stream = await raw.dialProtocol(target, protocol, { signal: AbortSignal.timeout(2000) })
    const lp = lpStream(stream)
    // Message { type = 1 (varint); key = 2 (bytes) }
    await lp.write(Uint8Array.from([0x08, type, 0x12, key.byteLength, ...key]), { signal: AbortSignal.timeout(2000) })
    const reply = await lp.read({ signal: AbortSignal.timeout(2000) })
    return reply.byteLength
  } catch {
    return 0
  }
}

/** Opens `protocol`, writes `payload` length-prefixed, and resolves with the bytes that came back before the stream ended (0 if none). */
export async function probeProtocol (raw: Libp2p<any>, target: Multiaddr, protocol: string, payload: Uint8Array): Promise<number> {
  let received = 0
  try {
    const stream = await raw.dialProtocol(target, protocol, { signal: AbortSignal.timeout(2000) })
    const lp = lpStream(stream)
    await lp.write(payload, { signal: AbortSignal.timeout(2000) })
    const signal = AbortSignal.timeout(1500)
    while (!signal.aborted) {
      const reply = await lp.read({ signal })
      received += reply.byteLength
    }
  } catch {}
  return received
}
