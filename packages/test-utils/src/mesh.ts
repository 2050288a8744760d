import { createMeshNode } from '@fleetmesh/peer'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TEST_GRANT_CREDITS } from './constants.js'
import { createTestGrant } from './grants.js'
import { createFleetKeys, createTestIdentity } from './identity.js'
import { loopbackGossip, loopbackListen } from './loopback.js'
import { waitUntil } from './wait.js'
import type { FleetKeys, TestIdentity, TestIdentityInit } from './identity.js'
import type { FleetAuthority, MeshNode, MeshNodeInit, NodeRole } from '@fleetmesh/peer'
import type { PeerId } from '@libp2p/interface'

/**
 * Meshes of real in-process fleetmesh nodes for tests: one fleet authority
 * and swarm key per mesh, each node certified by it and listening on its
 * own loopback host, with 127.0.0.1 whitelisted in gossipsub's
 * IP-colocation scoring (see `loopback.ts` for why; tests only).
 *
 * ```TypeScript
 * let mesh: TestMesh
 * beforeEach(async () => { mesh = await createTestMesh() })
 * afterEach(async () => { await mesh.stop() })
 *
 * it('…', async () => {
 *   const station = await mesh.add('station', 'u33d')
 *   const vehicle = await mesh.add('vehicle', 'u33d', { bootstrap: station.getMultiaddrs().map(String) })
 *   await waitAdmitted(station, [vehicle])
 * })
 * ```
 */

/** Options of {@link createTestMesh}. */
export interface TestMeshInit {
  /** gossipsub options of every node @default loopbackGossip() */
  gossip?: MeshNodeInit['gossip']
  /**
   * credits the mesh's authority grants each device (`identity()` and
   * `add()`), so any node can submit jobs; 0 for none (a test of unfunded
   * requesters) @default TEST_GRANT_CREDITS (1,000,000)
   */
  grantCredits?: number
}

/** A running test mesh. */
export interface TestMesh extends FleetKeys {
  authority: FleetAuthority
  swarmKey: Uint8Array
  /** every node started through {@link TestMesh.add} and not yet stopped */
  nodes: MeshNode[]
  /** A device certified by this mesh's authority, with a credit grant (`TestIdentity.grant`) unless the mesh grants none (for a node started elsewhere, or a forked one). */
  identity(role: NodeRole, region: string, init?: Omit<TestIdentityInit, 'role' | 'region'>): Promise<TestIdentity>
  /**
   * Starts a node of `role` in `region` with a fresh certified identity, a
   * loopback listen address and the mesh's gossip options; fields of
   * `init` replace those defaults (a given `privateKey` without a
   * `certificate` is certified, with `owner` in the certificate; a given
   * `certificate` is used as it is, even for another key). Its ledger is
   * given a credit grant for its PeerId (`init.ledger.grants`, added at
   * start), and the grants of every other device of the mesh, unless the
   * mesh grants none; running nodes are given each new device's grant.
   */
  add(role: NodeRole, region: string, init?: Partial<MeshNodeInit> & { owner?: string }): Promise<MeshNode>
  /** Stops one node and forgets it. */
  stopNode(node: MeshNode): Promise<void>
  /** Stops every node started through this mesh (failures to stop are ignored). */
  stop(): Promise<void>
}

/** A new test mesh with its own fleet authority and swarm key; start nodes with `add`. */
export async function createTestMesh (init: TestMeshInit = {}): Promise<TestMesh> {
  const keys = await createFleetKeys()
  const gossip = init.gossip ?? loopbackGossip()
  const nodes: MeshNode[] = []
  const credits = init.grantCredits ?? TEST_GRANT_CREDITS
  /** every grant the mesh issued: each node starts with all of them, and running nodes get each new one */
  const grants = new Map<string, Uint8Array>()
  const grantFor = async (peerId: PeerId): Promise<Uint8Array | undefined> => {
    if (credits <= 0) return undefined
    const key = peerId.toString()
    let grant = grants.get(key)
    if (grant == null) {
      grant = await createTestGrant(keys.authority, key, { credits })
      grants.set(key, grant)
      const g = grant
      await Promise.allSettled(nodes.map(async n => n.ledger.addGrant(g)))
    }
    return grant
  }
  const identity: TestMesh['identity'] = async (role, region, over = {}) => {
    const id = await createTestIdentity(keys.authority, { ...over, role, region })
    const grant = await grantFor(id.peerId)
    return grant != null ? { ...id, grant } : id
  }
  return {
    ...keys,
    grants: () => [...grants.values()],
    nodes,
    identity,
    async add (role, region, { owner, ...over } = {}) {
      const privateKey = over.privateKey ?? await generateKeyPair('Ed25519')
      const certificate = over.certificate ?? (await identity(role, region, { privateKey, owner })).certificate
      await grantFor(peerIdFromPrivateKey(privateKey))
      const node = await createMeshNode({
        role,
        region,
        privateKey,
        certificate,
        swarmKey: keys.swarmKey,
        trustedAuthorities: [keys.authority.publicKey],
        listen: [loopbackListen()],
        gossip,
        ...over,
        ledger: { ...over.ledger, grants: [...(over.ledger?.grants ?? []), ...grants.values()] }
      })
      nodes.push(node)
      return node
    },
    async stopNode (node) {
      const i = nodes.indexOf(node)
      if (i >= 0) nodes.splice(i, 1)
      await node.stop()
    },
    async stop () {
      await Promise.allSettled(nodes.splice(0).map(async n => n.stop()))
    }
  }
}

/**
 * Resolves once `hub` has admitted every node of `nodes` (their
 * certificates verified).
 *
 * @param timeoutMs - @default 15000
 * @throws WaitTimeoutError if some node is not admitted in time
 */
export async function waitAdmitted (hub: MeshNode, nodes: MeshNode[], timeoutMs = 15_000): Promise<void> {
  await waitUntil(() => nodes.every(n => hub.isAdmitted(n.peerId)), { timeoutMs, message: `${nodes.length} nodes admitted by the hub` })
}
