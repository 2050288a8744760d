import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { loopbackListen } from '@fleetmesh/test-utils'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

/**
 * A plain libp2p node that holds the swarm key but runs none of fleetmesh's
 * services: an insider without a certificate. It speaks gossipsub, so it can
 * try to push messages into the mesh.
 */
export async function createRawNode (swarmKey: Uint8Array | undefined): Promise<Libp2p<{ pubsub: GossipSub, identify: unknown }>> {
  return createLibp2p({
    addresses: { listen: [loopbackListen()] },
    transports: [tcp()],
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
