/**
 * The simulator's CPU per gossip message, measured: real nodes (libp2p on
 * 127.x.y.z, fleetmesh's gossipsub settings) in this process, one station
 * publishing to `receivers` vehicles connected to it, each message
 * signed, sent over noise and yamux, decoded, de-duplicated, its signature
 * verified and delivered at every receiver. The process CPU time
 * (`process.cpuUsage`, user + system) over the publishing, less the same
 * nodes' idle CPU over as long, divided by the copies delivered, is the
 * CPU of one message at one node (its receipt and validation, and its
 * share of a send): the simulator's `processingMs` on an idle core. CPU
 * time, not wall time: a loaded machine slows the wall clock of a run, not
 * the CPU it takes.
 *
 * Then the same for ledger entries: the station adds credit grants, each
 * gossiped on the receipts topic and taken by every receiver's ledger
 * (decoded, its signature checked, stored): the CPU of one ledger entry
 * at one node. A grant carries one signature, a receipt two (the worker's
 * and the requester's countersignature): a lower bound for a receipt.
 * And a market message's own check: opening its signed envelope (the
 * market's topic validator; the certificate comes from its cache).
 */
import { MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, openEnvelope, sealEnvelope } from '@fleetmesh/protocol'
import { createTestGrant, createTestMesh, delay, waitUntil } from '@fleetmesh/test-utils'
import type { MeshNode } from '@fleetmesh/peer'

const TOPIC = '/fleetmesh/1/sim-cost'

/** The measured CPU of one gossip message at one node, ms, and what it was measured over. */
export interface MessageCost {
  /** CPU per delivered copy, ms */
  cpuMsPerCopy: number
  /** CPU of opening one signed market envelope (its ed25519 check), on the node's thread, ms: a market message's validation beyond gossipsub's */
  envelopeOpenMs: number
  /** CPU per delivered copy of a ledger entry (a credit grant: gossipsub's checks, then the ledger's decoding, signature check and store), ms */
  entryCpuMsPerCopy: number
  receivers: number
  messages: number
  /** the nodes' idle CPU over the same time, ms (subtracted) */
  idleCpuMs: number
}

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }

/**
 * Starts one station and `receivers` vehicles bootstrapped to it, measures,
 * stops every node.
 *
 * @throws Error if the messages do not all arrive within 60 s
 */
export async function measureMessageCost (options: { receivers?: number, messages?: number } = {}): Promise<MessageCost> {
  const receivers = options.receivers ?? 8
  const messages = options.messages ?? 300
  const mesh = await createTestMesh()
  try {
    const station = await mesh.add('station', 'u33d')
    const bootstrap = station.getMultiaddrs().map(String)
    const nodes: MeshNode[] = []
    for (let i = 0; i < receivers; i++) nodes.push(await mesh.add('vehicle', 'u33d', { bootstrap }))
    await waitUntil(() => nodes.every(n => n.peers().length > 0), { timeoutMs: 60_000, message: 'every vehicle admitted' })
    let delivered = 0
    station.libp2p.services.pubsub.subscribe(TOPIC)
    for (const n of nodes) {
      n.libp2p.services.pubsub.subscribe(TOPIC)
      n.libp2p.services.pubsub.addEventListener('message', (e: any) => { if (e.detail.topic === TOPIC) delivered++ })
    }
    await delay(3000) // heartbeats graft the mesh
    const data = new Uint8Array(100).fill(7)
    const c0 = cpuMs()
    const t0 = performance.now()
    for (let m = 0; m < messages; m++) {
      data[0] = m & 0xff; data[1] = m >> 8
      await station.libp2p.services.pubsub.publish(TOPIC, data.slice())
      if (m % 20 === 19) await waitUntil(() => delivered >= (m + 1) * receivers, { timeoutMs: 60_000, message: `message ${m} at every receiver` })
    }
    await waitUntil(() => delivered >= messages * receivers, { timeoutMs: 60_000, message: 'every message at every receiver' })
    const busy = cpuMs() - c0
    const wall = performance.now() - t0
    const i0 = cpuMs()
    await delay(wall)
    const idle = cpuMs() - i0

    // ledger entries: the station adds credit grants (each its own entry: a distinct expiry), every receiver's ledger takes them from gossip
    const entries = Math.max(20, Math.round(messages / 3))
    const grants: Uint8Array[] = []
    for (let k = 0; k < entries; k++) grants.push(await createTestGrant(mesh.authority, station.peerId.toString(), { credits: 1, validForMs: 3_600_000 + k }))
    let held = 0
    for (const n of nodes) n.ledger.addEventListener('entry', () => { held++ })
    const e0 = cpuMs()
    const et0 = performance.now()
    for (let k = 0; k < entries; k++) {
      await station.ledger.add(grants[k] as Uint8Array)
      if (k % 10 === 9) await waitUntil(() => held >= (k + 1) * receivers, { timeoutMs: 60_000, message: `entry ${k} at every receiver` })
    }
    await waitUntil(() => held >= entries * receivers, { timeoutMs: 60_000, message: 'every entry at every receiver' })
    const entryBusy = cpuMs() - e0
    const entryIdle = idle * (performance.now() - et0) / wall

    // a market message's own check: its signed envelope, opened as the market's topic validator opens it (the certificate comes from its cache)
    const { privateKey } = await mesh.identity('vehicle', 'u33d')
    const sealed = await sealEnvelope(privateKey, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, new Uint8Array(200).fill(3))
    const opens = 500
    const o0 = cpuMs()
    for (let k = 0; k < opens; k++) await openEnvelope(sealed, MARKET_DOMAIN, { payloadType: MARKET_PAYLOAD_TYPE })
    const envelopeOpenMs = (cpuMs() - o0) / opens
    return {
      cpuMsPerCopy: Math.max(0, busy - idle) / (messages * receivers),
      envelopeOpenMs,
      entryCpuMsPerCopy: Math.max(0, entryBusy - entryIdle) / (entries * receivers),
      receivers,
      messages,
      idleCpuMs: idle
    }
  } finally {
    await mesh.stop()
  }
}
