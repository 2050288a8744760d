import { createTestMesh, delay, forkNode, loopbackGossip, loopbackListen, serializeIdentity } from '@fleetmesh/test-utils'
import { market, marketTopicScoreParams, ScriptedVehicleState } from '../../src/index.js'
import type { MarketService } from '../../src/market.js'
import type { LeaseHandler, MarketInit, WorkerInit } from '../../src/index.js'
import type { FleetAuthority, MeshNode, MeshNodeInit, NodeRole } from '@fleetmesh/peer'
import type { ForkedNode, SerializedIdentity } from '@fleetmesh/test-utils'
import type { PrivateKey } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

/**
 * Test helpers: real mesh nodes with the market service (a test mesh of
 * @fleetmesh/test-utils), with gossipsub score parameters on the market
 * topics so rejected messages lower the sender's score, and market nodes
 * forked into their own processes.
 */

export const REGIONS = ['u33d', 'gcpv']

/** Gossip options for loopback tests: IP colocation whitelisted, market topics scored. */
export function testGossip (): MeshNodeInit['gossip'] {
  return loopbackGossip(marketTopicScoreParams(REGIONS))
}

export interface MarketNode {
  node: MeshNode
  market: MarketService
  privateKey: PrivateKey
  certificate: Uint8Array
}

export interface AddOptions {
  /** worker side; omit for a requester-only node */
  worker?: WorkerInit
  /** other market init */
  market?: Partial<MarketInit>
  /** no market service at all (an attacker node publishing raw gossip) */
  noMarket?: boolean
  bootstrap?: string[]
  /** listen multiaddrs (default: one loopback address); [] for a node that only dials out (a gateway behind a firewall) */
  listen?: string[]
  /** more libp2p services (a stand-in ledger, say) */
  services?: Record<string, (components: any) => unknown>
}

export interface MarketFleet {
  authority: FleetAuthority
  swarmKey: Uint8Array
  nodes: MeshNode[]
  add(role: NodeRole, region: string, options?: AddOptions): Promise<MarketNode>
  /** Forks a market node in its own process (test/fixtures/market-node.js). */
  fork(spec: Omit<ChildSpec, keyof SerializedIdentity | 'listen'>): Promise<ChildNode>
  /** Kills every forked node and stops every node. */
  stop(): Promise<void>
}

/** What a forked market node is told (see fixtures/market-node.ts): its identity, then what to do. */
export interface ChildSpec extends SerializedIdentity {
  mode: 'worker' | 'requester'
  role: NodeRole
  region: string
  listen: string
  bootstrap: string[]
  /** worker: base price, credits/unit */
  price?: number
  /** worker: how long each lease's work takes, ms */
  workMs?: number
  /** requester: the job to submit when told */
  job?: { shardUnits: number[], maxPricePerUnit: number, deadlineMs: number }
  leaseTimeoutMs?: number
  heartbeatIntervalMs?: number
}

export interface ChildNode {
  child: ChildProcess
  peerId: string
  addrs: string[]
  /** messages the child sent (ready, lease and job events) */
  messages: any[]
  send(msg: unknown): void
}

export async function createMarketFleet (): Promise<MarketFleet> {
  const mesh = await createTestMesh({ gossip: testGossip() })
  const forked: ForkedNode[] = []
  return {
    authority: mesh.authority,
    swarmKey: mesh.swarmKey,
    nodes: mesh.nodes,
    async add (role, region, options = {}) {
      const { privateKey, certificate } = await mesh.identity(role, region)
      const services: Record<string, (components: any) => unknown> = options.noMarket === true
        ? {}
        : { market: market({ certificate, trustedAuthorities: [mesh.authority.publicKey], worker: options.worker, ...options.market }) }
      Object.assign(services, options.services)
      const node = await mesh.add(role, region, { privateKey, certificate, bootstrap: options.bootstrap, services, ...(options.listen != null ? { listen: options.listen } : {}) })
      return { node, market: node.libp2p.services.market as MarketService, privateKey, certificate }
    },
    async fork (spec) {
      const identity = serializeIdentity(await mesh.identity(spec.role, spec.region), mesh)
      const start: ChildSpec = { ...spec, ...identity, listen: loopbackListen() }
      const f = await forkNode<{ peerId: string, addrs: string[] }>(new URL('../fixtures/market-node.js', import.meta.url), { start, name: 'market node' })
      forked.push(f)
      return { child: f.child, peerId: f.ready.peerId, addrs: f.ready.addrs, messages: f.messages, send: f.send }
    },
    async stop () {
      await Promise.all(forked.splice(0).map(async f => f.kill()))
      await mesh.stop()
    }
  }
}

/** A vehicle state source parked at SoC 0.9, 20 °C: the owner's default policy lets it work. */
export function parkedVehicle (): ScriptedVehicleState {
  return new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 })
}

/** A lease handler that "works" for `ms` (the integrator's part in these tests) and returns the shard index as text. */
export function workFor (ms: number): LeaseHandler {
  return async (lease, signal) => {
    await delay(ms, signal)
    return new TextEncoder().encode(`shard ${lease.shardIndex} by worker`)
  }
}
