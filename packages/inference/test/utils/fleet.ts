import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createAuthority, createMeshNode, generateSwarmKey, issueCertificate } from '@fleetmesh/peer'
import type { FleetAuthority, MeshNode, MeshNodeInit, NodeRole } from '@fleetmesh/peer'

/**
 * Test helpers: a fleet authority, a swarm key, and real mesh nodes on
 * loopback. Each node listens on its own 127.0.x.y address (all of
 * 127.0.0.0/8 is loopback on Linux) so gossipsub's IP-colocation penalty and
 * libp2p's per-host inbound rate limit see distinct hosts.
 */
export interface TestFleet {
  authority: FleetAuthority
  swarmKey: Uint8Array
  nodes: MeshNode[]
  /** Starts a node with a valid certificate; extra init overrides the defaults. */
  add(role: NodeRole, region: string, init?: Partial<MeshNodeInit>): Promise<MeshNode>
  /** Stops every node started through this fleet. */
  stop(): Promise<void>
}

let hostCounter = 0

/**
 * Outbound TCP dials on loopback leave from 127.0.0.1 whatever address the
 * node listens on, so every inbound peer of a station shares one IP and
 * gossipsub's IP-colocation penalty (more than 10 peers per IP) graylists
 * them all. Tests on one machine whitelist loopback; real fleets do not.
 */
export const LOOPBACK_GOSSIP = { scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']) } }

/** The next unused loopback host, 127.0.<a>.<b>, starting at 127.0.1.1 and moving with the process id so parallel runs do not collide on ports. */
export function nextLoopbackHost (): string {
  hostCounter++
  const n = 256 + ((process.pid * 7) % 2000) * 8 + hostCounter
  return `127.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${(n & 0xff) === 0 ? 1 : n & 0xff}`
}

export async function createTestFleet (): Promise<TestFleet> {
  const authority = await createAuthority()
  const swarmKey = generateSwarmKey()
  const nodes: MeshNode[] = []
  return {
    authority,
    swarmKey,
    nodes,
    async add (role, region, init = {}) {
      const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
      const certificate = init.certificate ?? await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role, region, validForMs: 3600_000 })
      const node = await createMeshNode({
        role,
        region,
        privateKey,
        certificate,
        swarmKey,
        trustedAuthorities: [authority.publicKey],
        listen: [`/ip4/${nextLoopbackHost()}/tcp/0`],
        gossip: LOOPBACK_GOSSIP,
        ...init
      })
      nodes.push(node)
      return node
    },
    async stop () {
      await Promise.allSettled(nodes.map(async n => n.stop()))
      nodes.length = 0
    }
  }
}

/** Resolves when `predicate` is true, polling every `intervalMs`; rejects after `timeoutMs` with `what` in the message. */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 25): Promise<number> {
  const start = Date.now()
  while (true) {
    if (await predicate()) return Date.now() - start
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
