/**
 * The outsider part of bench/adversary: what a stock js-libp2p node that holds the fleet's
 * swarm key but no certificate can get out of a fleetmesh mesh, and what a
 * wrong swarm key costs. The outsider is built only from stock packages
 * (libp2p, @libp2p/tcp, noise, yamux, @libp2p/pnet, gossipsub, kad-dht and
 * the ping it needs, identify); the fleet is a station and two vehicles from @fleetmesh/peer.
 *
 * Figures:
 * - outsiderGossipMessages: gossip messages the outsider received while members gossiped
 * - outsiderDhtAnswers: answers to GET_PROVIDERS / FIND_NODE for the fleet's capability CIDs
 * - outsiderFleetmeshBytes: bytes received on any fleetmesh protocol
 * - outsiderCutP99Ms: dial to disconnect of a silent outsider, p99 of 20
 * - memberJoinUnderFloodMs: a new vehicle's join while 200 outsider connections hold the admission stream silently
 * - wrongKeyFailP99Ms: a dial with a wrong swarm key fails, p99 of 50 in each direction
 */
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { createAuthority, createMeshNode, generateSwarmKey, issueCertificate } from '@fleetmesh/peer'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { MeshNode } from '@fleetmesh/peer'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const FLEET_TOPICS = ['/fleetmesh/1/offers/u33d', '/fleetmesh/1/bids/u33d', '/fleetmesh/1/receipts', '/fleetmesh/1/revocations', '/fleetmesh/1/presence']
const FLEET_PROTOCOLS = ['/fleetmesh/market/1.0.0', '/fleetmesh/infer/1.0.0', '/fleetmesh/model/1.0.0', '/fleetmesh/reconcile/1.0.0', '/fleetmesh/revocation/1.0.0']
const DHT = '/fleetmesh/kad/1.0.0'

let host = 0
function nextHost (): string {
  host++
  const n = 40_000 + ((process.pid * 13) % 4000) * 8 + host
  return `127.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${(n & 0xff) === 0 ? 1 : n & 0xff}`
}

/** The outsider: stock js-libp2p with the swarm key, gossipsub, a Kad-DHT client on the fleet's protocol, identify. */
async function stockNode (psk: Uint8Array | undefined): Promise<Libp2p<any>> {
  const h = nextHost()
  return createLibp2p({
    addresses: { listen: [`/ip4/${h}/tcp/0`] },
    transports: [tcp({ dialOpts: { localAddress: h } as any })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: psk != null ? preSharedKey({ psk }) : undefined,
    connectionManager: { dialTimeout: 3000 },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      dht: kadDHT({ protocol: DHT, clientMode: true, peerInfoMapper: passthroughMapper })
    }
  })
}

function capabilityCid (key: string): CID {
  return CID.createV1(raw.code, Digest.create(0x12, createHash('sha256').update(`fleetmesh/${key}`).digest()))
}

async function dhtProbe (node: Libp2p<any>, target: Multiaddr, type: 3 | 4, key: Uint8Array): Promise<number> {
  try {
    const stream = await node.dialProtocol(target, DHT, { signal: AbortSignal.timeout(2000) })
    const lp = lpStream(stream)
    await lp.write(Uint8Array.from([0x08, type, 0x12, key.byteLength, ...key]), { signal: AbortSignal.timeout(2000) })
    return (await lp.read({ signal: AbortSignal.timeout(2000) })).byteLength > 0 ? 1 : 0
  } catch {
    return 0
  }
}

async function protocolBytes (node: Libp2p<any>, target: Multiaddr, protocol: string): Promise<number> {
  let received = 0
  try {
    const stream = await node.dialProtocol(target, protocol, { signal: AbortSignal.timeout(2000) })
    const lp = lpStream(stream)
    await lp.write(new Uint8Array(64), { signal: AbortSignal.timeout(2000) })
    const signal = AbortSignal.timeout(1000)
    while (!signal.aborted) received += (await lp.read({ signal })).byteLength
  } catch {}
  return received
}

function p99 (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? NaN
}

async function waitFor (predicate: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) return Number.POSITIVE_INFINITY
    await new Promise(resolve => setTimeout(resolve, 2))
  }
  return Date.now() - start
}

/** The outsider figures and their detail; starts and stops its own fleet. */
export async function outsiderFigures (): Promise<{ figures: Record<string, number>, detail: Record<string, unknown> }> {
  const authority = await createAuthority()
  const swarmKey = generateSwarmKey()
  const nodes: MeshNode[] = []
  const stock: Array<Libp2p<any>> = []
  const member = async (role: 'station' | 'vehicle', bootstrap: string[] = []): Promise<MeshNode> => {
    const privateKey = await generateKeyPair('Ed25519')
    const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role, region: 'u33d', validForMs: 3600_000 })
    const node = await createMeshNode({
      role,
      region: 'u33d',
      privateKey,
      certificate,
      swarmKey,
      trustedAuthorities: [authority.publicKey],
      bootstrap,
      listen: [`/ip4/${nextHost()}/tcp/0`],
      gossip: { scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']) } }
    })
    nodes.push(node)
    return node
  }
  try {
    const station = await member('station')
    const target = station.getMultiaddrs()[0] as Multiaddr
    const vehicles = [await member('vehicle', [target.toString()]), await member('vehicle', [target.toString()])]
    await Promise.all(vehicles.map(async v => v.announced()))
    for (const n of nodes) n.subscribe('/fleetmesh/1/presence', () => {})
    await new Promise(resolve => setTimeout(resolve, 1500))

    // 1. an outsider on the station while members gossip
    const outsider = await stockNode(swarmKey)
    stock.push(outsider)
    let gossip = 0
    outsider.services.pubsub.addEventListener('message', () => { gossip++ })
    for (const t of FLEET_TOPICS) outsider.services.pubsub.subscribe(t)
    const publishing = setInterval(() => { for (const v of vehicles) void v.publish('/fleetmesh/1/presence', new TextEncoder().encode('member gossip')).catch(() => {}) }, 20)
    let dhtAnswers = 0
    let fleetBytes = 0
    for (const key of ['role/station', 'region/u33', 'region/u33d', 'region/u3']) {
      if (!outsider.getConnections().some(c => c.status === 'open')) await outsider.dial(target).catch(() => {})
      dhtAnswers += await dhtProbe(outsider, target, 3, capabilityCid(key).bytes)
      dhtAnswers += await dhtProbe(outsider, target, 4, capabilityCid(key).bytes)
    }
    try {
      for await (const provider of outsider.services.dht.findProviders(capabilityCid('role/station'), { signal: AbortSignal.timeout(1000) })) if (provider != null) dhtAnswers++
    } catch {}
    for (const p of FLEET_PROTOCOLS) {
      if (!outsider.getConnections().some(c => c.status === 'open')) await outsider.dial(target).catch(() => {})
      fleetBytes += await protocolBytes(outsider, target, p)
    }
    clearInterval(publishing)

    // 2. a silent outsider is cut: dial to disconnect, 20 tries
    const cuts: number[] = []
    for (let i = 0; i < 20; i++) {
      const silent = await stockNode(swarmKey)
      stock.push(silent)
      const start = Date.now()
      await silent.dial(target).catch(() => {})
      await waitFor(() => !silent.getConnections().some(c => c.status === 'open'), 10_000)
      cuts.push(Date.now() - start)
      await silent.stop()
    }

    // 3. 200 outsider connections holding the admission stream, then a member joins
    const flooders = await Promise.all(Array.from({ length: 20 }, async () => stockNode(swarmKey)))
    stock.push(...flooders)
    await Promise.all(flooders.map(async f => f.handle('/fleetmesh/admission/1.0.0', () => {})))
    await Promise.allSettled(flooders.flatMap(f => Array.from({ length: 10 }, async () => f.dial(target, { force: true, signal: AbortSignal.timeout(3000) }))))
    const joinStart = Date.now()
    const late = await member('vehicle', [target.toString()])
    const joined = await waitFor(() => station.isAdmitted(late.peerId) && late.isAdmitted(station.peerId), 10_000)
    const memberJoinUnderFloodMs = Number.isFinite(joined) ? Date.now() - joinStart : joined

    // 4. wrong swarm key, 50 tries each way
    const wrong = await stockNode(generateSwarmKey())
    stock.push(wrong)
    const wrongTarget = wrong.getMultiaddrs()[0] as Multiaddr
    const fails: number[] = []
    for (let i = 0; i < 50; i++) {
      let start = Date.now()
      await wrong.dial(target, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
      fails.push(Date.now() - start)
      start = Date.now()
      await station.libp2p.dial(wrongTarget, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
      fails.push(Date.now() - start)
    }

    return {
      figures: {
        outsiderGossipMessages: gossip,
        outsiderDhtAnswers: dhtAnswers,
        outsiderFleetmeshBytes: fleetBytes,
        outsiderCutP99Ms: p99(cuts),
        memberJoinUnderFloodMs,
        wrongKeyFailP99Ms: p99(fails)
      },
      detail: { cutsMs: cuts, wrongKeyMaxMs: Math.max(...fails), floodConnections: 200 }
    }
  } finally {
    await Promise.allSettled(stock.map(async s => s.stop()))
    await Promise.allSettled(nodes.map(async n => n.stop()))
  }
}
