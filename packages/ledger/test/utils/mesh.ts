import { encodeTensors, MARKET_PROTOCOL } from '@fleetmesh/protocol'
import { market, ScriptedVehicleState } from '@fleetmesh/market'
import { createTestMesh, delay, waitUntil } from '@fleetmesh/test-utils'
import { inputDigest, outputDigest } from '../../src/digest.js'
import { ledger } from '../../src/index.js'
import { parseVerificationJobId } from '../../src/settle.js'
import type { LedgerService } from '../../src/ledger.js'
import type { LedgerInit } from '../../src/index.js'
import type { Market, MarketInit, WorkerInit } from '@fleetmesh/market'
import type { FleetAuthority, MeshNode, NodeRole } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/**
 * Test helpers: real mesh nodes with the ledger and market services (a
 * test mesh of @fleetmesh/test-utils). Workers compute a deterministic
 * synthetic output per (job, shard) — the integrator's part — and a
 * cheating worker perturbs it.
 */

/** The synthetic output of shard `shardIndex` of `jobId`: 64 floats; `noise` is added by a cheater. */
export function syntheticOutput (jobId: string, shardIndex: number, noise = 0): WireTensor {
  const seed = [...`${jobId}/${shardIndex}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
  const data = new Float32Array(64)
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(seed + i) * 3 + (noise !== 0 ? noise * Math.cos(i) : 0) + 1e-6 * Math.random()
  return { name: 'y', dtype: 'float32', dims: [64], data }
}

/** A lease handler that returns a signed receipt over the synthetic output (perturbed by `noise`). */
export function syntheticWorker (getLedger: () => LedgerService, options: { noise?: number, workMs?: number } = {}): WorkerInit['onLease'] {
  return async (lease, signal) => {
    const startedAt = Date.now()
    const orig = parseVerificationJobId(lease.jobId) ?? { jobId: lease.jobId, shardIndex: lease.shardIndex }
    await delay(options.workMs ?? 20, signal)
    const y = syntheticOutput(orig.jobId, orig.shardIndex, options.noise ?? 0)
    return getLedger().shardReturn({
      lease,
      inputDigest: inputDigest(new TextEncoder().encode(`${orig.jobId}/${orig.shardIndex}`)),
      outputDigest: outputDigest([y]),
      output: encodeTensors([y]),
      startedAt
    })
  }
}

export interface LedgerNode {
  node: MeshNode
  ledger: LedgerService
  market: Market
  key: PrivateKey
  certificate: Uint8Array
  peerId: PeerId
  /** partition control: peers this node refuses to dial or accept */
  deny: Set<string>
}

export interface AddOptions {
  role?: NodeRole
  region?: string
  /** worker side; `true` for the honest synthetic worker */
  worker?: boolean | { noise?: number, workMs?: number, price?: number, capacity?: number }
  ledger?: Partial<LedgerInit>
  bootstrap?: string[]
  key?: PrivateKey
  /** owner in the certificate */
  owner?: string
}

export interface LedgerFleet {
  authority: FleetAuthority
  swarmKey: Uint8Array
  nodes: LedgerNode[]
  add(options?: AddOptions): Promise<LedgerNode>
  stopNode(n: LedgerNode): Promise<void>
  stop(): Promise<void>
}

/**
 * A service that lets a test partition the mesh: it wraps the node's
 * connection gater (the object libp2p consults on every dial and every
 * upgraded connection) so peers in `deny` are refused, both ways.
 */
function partitionService (deny: Set<string>): (components: any) => object {
  return (components: any) => {
    const gater = components.connectionGater
    const wrap = (name: string): void => {
      const orig = gater[name]
      gater[name] = async (peer: PeerId, ...rest: unknown[]) => deny.has(peer.toString()) || (await orig?.call(gater, peer, ...rest)) === true
    }
    wrap('denyDialPeer')
    wrap('denyInboundEncryptedConnection')
    wrap('denyOutboundEncryptedConnection')
    return {}
  }
}

/**
 * The market service with the synthetic worker, composed as an extra
 * service. @fleetmesh/peer now builds its own market in (whose worker runs
 * real inference); this one takes over MARKET_PROTOCOL once the built-in
 * (requester-only here) has started, so leases reach the synthetic worker.
 */
function syntheticMarket (init: MarketInit): (components: any) => { market: Market, start(): Promise<void>, beforeStop(): Promise<void>, stop(): Promise<void> } {
  return (components: any) => {
    const inner = market(init)(components) as any
    return {
      market: inner,
      async start () {
        await waitUntil(() => components.market?.isStarted?.() !== false, { timeoutMs: 10_000, intervalMs: 5, message: 'the built-in market to start' })
        await components.registrar.unhandle(MARKET_PROTOCOL)
        await inner.start()
      },
      async beforeStop () { await inner.beforeStop?.() },
      async stop () { await inner.stop() }
    }
  }
}

export async function createLedgerFleet (): Promise<LedgerFleet> {
  const mesh = await createTestMesh({ grantCredits: 0 }) // funding tests grant what they need
  const nodes: LedgerNode[] = []
  const fleet: LedgerFleet = {
    authority: mesh.authority,
    swarmKey: mesh.swarmKey,
    nodes,
    async add (options = {}) {
      const role = options.role ?? 'station'
      const region = options.region ?? 'u33d'
      const { privateKey: key, peerId, certificate } = await mesh.identity(role, region, { privateKey: options.key, owner: options.owner })
      const trustedAuthorities = [mesh.authority.publicKey]
      const ref: { ledger?: LedgerService } = {}
      const getLedger = (): LedgerService => ref.ledger as LedgerService
      const w = options.worker === true ? {} : options.worker === false ? undefined : options.worker
      const deny = new Set<string>()
      const node = await mesh.add(role, region, {
        privateKey: key,
        certificate,
        bootstrap: options.bootstrap,
        services: {
          partition: partitionService(deny),
          ledger: ledger({ certificate, trustedAuthorities, reconcileIntervalMs: 1000, requireFunds: false, ...options.ledger }),
          jobs: syntheticMarket({
            certificate,
            trustedAuthorities,
            bidWindowMs: 150,
            reputation: (id) => getLedger().reputation(id),
            worker: w != null
              ? {
                  onLease: syntheticWorker(getLedger, w),
                  pricing: { basePricePerUnit: w.price ?? 1, loadFactor: 0 },
                  maxConcurrentLeases: w.capacity ?? 8,
                  // a vehicle works only with a state source: parked at SoC 0.9
                  ...(role === 'vehicle' ? { vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) } : {})
                }
              : undefined
          })
        }
      })
      ref.ledger = node.libp2p.services.ledger as LedgerService
      const n: LedgerNode = { node, ledger: ref.ledger, market: (node.libp2p.services.jobs as { market: Market }).market, key, certificate, peerId, deny }
      nodes.push(n)
      return n
    },
    async stopNode (n) {
      const i = nodes.indexOf(n)
      if (i >= 0) nodes.splice(i, 1)
      await mesh.stopNode(n.node)
    },
    async stop () {
      nodes.length = 0
      await mesh.stop()
    }
  }
  return fleet
}

/** Bootstrap addresses of a node. */
export function addrs (n: LedgerNode): string[] {
  return n.node.getMultiaddrs().map(String)
}

/** Dials `to` from `from` (used to heal a partition). */
export async function connect (from: LedgerNode, to: LedgerNode): Promise<void> {
  const ma = to.node.getMultiaddrs()[0]
  if (ma == null) throw new Error('node has no address')
  await from.node.libp2p.dial(ma)
}

/** True if every node holds the same entry ids. */
export function converged (nodes: LedgerNode[]): boolean {
  const first = nodes[0]?.ledger.entryIds().join(',')
  return nodes.every(n => n.ledger.entryIds().join(',') === first)
}
