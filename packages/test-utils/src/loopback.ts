import { LOOPBACK_BLOCKS, LOOPBACK_FIRST_BLOCK, LOOPBACK_HOSTS_PER_BLOCK, LOOPBACK_SOURCE_IP } from './constants.js'
import type { MeshNodeInit } from '@fleetmesh/peer'

/**
 * Loopback addresses for the many nodes one machine runs in a test.
 *
 * All of 127.0.0.0/8 is loopback on Linux, so every node of a test mesh,
 * forked fixture or daemon fleet listens on its own 127.x.y.z host. Why:
 * gossipsub's IP-colocation penalty (more than 10 peers on one IP) keeps a
 * mesh from forming at all when every peer sits on 127.0.0.1, and the
 * addresses a node records for its peers (peer store, DHT provider records,
 * identify) stay one per node.
 *
 * That covers the dialling side only: an outbound TCP dial on loopback
 * leaves from 127.0.0.1 whatever address the dialler listens on, so every
 * inbound connection of a node comes from 127.0.0.1. Test meshes therefore
 * also whitelist 127.0.0.1 in gossipsub's IP-colocation scoring
 * ({@link loopbackGossip}); real fleets never do.
 *
 * One process takes its hosts from one `/16` block picked by its process id,
 * so two test runs at once (two mocha processes, a benchmark beside a test)
 * rarely share a host; they would not clash if they did, as every node
 * listens on TCP port 0.
 */

let taken = 0

/**
 * The next unused loopback host of this process, `127.<b>.<c>.<d>` with
 * `b` in 16..215 (from the process id) and `d` in 1..254.
 *
 * @returns a dotted IPv4 address, never 127.0.0.1
 */
export function nextLoopbackHost (): string {
  const block = LOOPBACK_FIRST_BLOCK + (process.pid % LOOPBACK_BLOCKS)
  const i = taken++ % LOOPBACK_HOSTS_PER_BLOCK
  return `127.${block}.${Math.floor(i / 254)}.${(i % 254) + 1}`
}

/**
 * A TCP listen multiaddr on the next unused loopback host, port 0 (any
 * free port): `/ip4/127.b.c.d/tcp/0`.
 */
export function loopbackListen (): string {
  return `/ip4/${nextLoopbackHost()}/tcp/0`
}

/** The IPs a test mesh exempts from gossipsub's IP-colocation penalty: the loopback dial source. */
export const LOOPBACK_GOSSIP_WHITELIST: readonly string[] = [LOOPBACK_SOURCE_IP]

/**
 * Gossipsub options for a node on loopback: 127.0.0.1 (where every inbound
 * loopback connection comes from) exempt from the IP-colocation penalty,
 * plus any topic score parameters (e.g. `marketTopicScoreParams(regions)`
 * of @fleetmesh/market). For tests, testnets and benchmarks on one machine
 * only: a real fleet scores every IP.
 *
 * @param topics - gossipsub topic score parameters by topic name
 */
export function loopbackGossip (topics?: Record<string, unknown>): NonNullable<MeshNodeInit['gossip']> {
  const scoreParams: Record<string, unknown> = { IPColocationFactorWhitelist: new Set(LOOPBACK_GOSSIP_WHITELIST) }
  if (topics != null) scoreParams.topics = topics
  return { scoreParams } as NonNullable<MeshNodeInit['gossip']>
}
