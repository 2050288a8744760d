import { fork } from 'node:child_process'
import { createAuthority, createMeshNode, exportAuthorityPublicKey, generateSwarmKey, issueCertificate } from '@fleetmesh/peer'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { market, marketTopicScoreParams, ScriptedVehicleState } from '../../src/index.js'
import type { MarketService } from '../../src/market.js'
import type { LeaseHandler, MarketInit, WorkerInit } from '../../src/index.js'
import type { FleetAuthority, MeshNode, MeshNodeInit, NodeRole } from '@fleetmesh/peer'
import type { PrivateKey } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

/**
 * Test helpers: real mesh nodes with the market service on loopback, each
 * on its own 127.x address (as @fleetmesh/peer's own test fleet does), with
 * gossipsub score parameters on the market topics so rejected messages
 * lower the sender's score.
 */

export const REGIONS = ['u33d', 'gcpv']

let hostCounter = 0
/** The next unused loopback host; moves with the pid so parallel runs do not collide. */
export function nextLoopbackHost (): string {
  hostCounter++
  const n = 4096 + ((process.pid * 13) % 4000) * 16 + hostCounter
  return `127.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${(n & 0xff) === 0 ? 1 : n & 0xff}`
}

/** Gossip options for loopback tests: IP colocation whitelisted, market topics scored. */
export function testGossip (): MeshNodeInit['gossip'] {
  return { scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']), topics: marketTopicScoreParams(REGIONS) as any } }
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
  /** more libp2p services (a stand-in ledger, say) */
  services?: Record<string, (components: any) => unknown>
}

export interface MarketFleet {
  authority: FleetAuthority
  swarmKey: Uint8Array
  nodes: MeshNode[]
  children: ChildProcess[]
  add(role: NodeRole, region: string, options?: AddOptions): Promise<MarketNode>
  /** Forks a market node in its own process (test/fixtures/market-node.js). */
  fork(spec: Omit<ChildSpec, 'key' | 'certificate' | 'swarmKey' | 'authority' | 'listen'> & { role: NodeRole, region: string }): Promise<ChildNode>
  stop(): Promise<void>
}

/** What a forked market node is told (see fixtures/market-node.ts). */
export interface ChildSpec {
  mode: 'worker' | 'requester'
  role: NodeRole
  region: string
  key: string
  certificate: string
  swarmKey: string
  authority: string
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
  /** messages the child sent (lease/job events) */
  messages: any[]
  send(msg: unknown): void
}

export async function createMarketFleet (): Promise<MarketFleet> {
  const authority = await createAuthority()
  const swarmKey = generateSwarmKey()
  const nodes: MeshNode[] = []
  const children: ChildProcess[] = []
  return {
    authority,
    swarmKey,
    nodes,
    children,
    async add (role, region, options = {}) {
      const privateKey = await generateKeyPair('Ed25519')
      const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role, region, validForMs: 3600_000 })
      const services: Record<string, (components: any) => unknown> = options.noMarket === true
        ? {}
        : { market: market({ certificate, trustedAuthorities: [authority.publicKey], worker: options.worker, ...options.market }) }
      Object.assign(services, options.services)
      const node = await createMeshNode({
        role,
        region,
        privateKey,
        certificate,
        swarmKey,
        trustedAuthorities: [authority.publicKey],
        listen: [`/ip4/${nextLoopbackHost()}/tcp/0`],
        gossip: testGossip(),
        bootstrap: options.bootstrap,
        services
      })
      nodes.push(node)
      return { node, market: node.libp2p.services.market as MarketService, privateKey, certificate }
    },
    async fork (spec) {
      const key = await generateKeyPair('Ed25519')
      const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(key), role: spec.role, region: spec.region, validForMs: 3600_000 })
      const full: ChildSpec = {
        ...spec,
        key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'),
        certificate: Buffer.from(certificate).toString('base64'),
        swarmKey: new TextDecoder().decode(swarmKey),
        authority: exportAuthorityPublicKey(authority.publicKey),
        listen: `/ip4/${nextLoopbackHost()}/tcp/0`
      }
      const child = fork(new URL('../fixtures/market-node.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      children.push(child)
      const messages: any[] = []
      const ready = await new Promise<{ peerId: string, addrs: string[] }>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('forked market node did not start in 20 s')) }, 20_000)
        child.on('message', (msg: any) => {
          messages.push(msg)
          if (msg?.type === 'ready') { clearTimeout(timer); resolve(msg) }
        })
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`forked market node exited with ${code}`)) })
        child.send({ type: 'start', spec: full })
      })
      return { child, peerId: ready.peerId, addrs: ready.addrs, messages, send: (msg) => { child.send(msg as any) } }
    },
    async stop () {
      for (const c of children) if (c.exitCode == null && c.signalCode == null) c.kill('SIGKILL')
      children.length = 0
      await Promise.allSettled(nodes.map(async n => n.stop()))
      nodes.length = 0
    }
  }
}

/** Resolves when `predicate` is true, polling every `intervalMs`; rejects after `timeoutMs` naming `what`. */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 25): Promise<number> {
  const start = Date.now()
  while (true) {
    if (await predicate()) return Date.now() - start
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

export async function delay (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason ?? new Error('aborted')) }, { once: true })
  })
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

/** Waits until every node in `nodes` is admitted by `hub`. */
export async function connectedTo (hub: MeshNode, nodes: MeshNode[], timeoutMs = 15_000): Promise<void> {
  await waitUntil(() => nodes.every(n => hub.isAdmitted(n.peerId)), timeoutMs, 'nodes admitted by the hub')
}
