/**
 * The insider floods of bench/adversary: what an ADMITTED fleet member (a
 * real certificate from the fleet authority, a real mesh node) can throw at
 * one worker. Each flood runs until `endAt` (ms since the epoch) and counts
 * what it sent and how the target answered. Used by adversary-attacker.ts.
 */
import { randomBytes } from 'node:crypto'
import { sealMarketMessage } from '@fleetmesh/market'
import {
  encodeTensorHeader, INFER_PROTOCOL, InferMessage, JobMode, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, MARKET_PROTOCOL, MarketMessage, MAX_MARKET_DIRECT_BYTES,
  MODEL_PROTOCOL, offersTopic, openEnvelope
} from '@fleetmesh/protocol'
import { lpStream } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import type { MeshNode } from '@fleetmesh/peer'
import type { InferOpen, JobOffer } from '@fleetmesh/protocol'
import type { PeerId, PrivateKey, Stream } from '@libp2p/interface'

/** The floods, in the order the bench runs them: `none` first, the control (the attacker connected and silent: what the honest jobs alone cost the target). */
export const FLOOD_KINDS = ['none', 'offers', 'awards', 'feedOpens', 'dataBeforeOpen', 'idleStreams'] as const

/** One of {@link FLOOD_KINDS}. */
export type FloodKind = typeof FLOOD_KINDS[number]

/** What a flood needs: the attacker's node and identity, the target. */
export interface FloodContext {
  node: MeshNode
  /** the attacker's node key (its PeerId's key), which signs its market messages */
  privateKey: PrivateKey
  /** the attacker's device certificate */
  certificate: Uint8Array
  target: PeerId
  /** concurrent streams per stream flood (the target allows 32 infer, 32 market, 16 model streams per connection) */
  streams: number
}

/** Counts of one flood: messages or streams sent, and the target's answers by kind. */
export interface FloodCounts {
  sent: number
  /** answers by kind (accept, decline, ack code, error code, closed, reset…) */
  answers: Record<string, number>
  /** set by the attacker process: ms it took to be admitted again before the flood, disconnects from the target during it, admitted at its end */
  rejoinMs?: number
  disconnects?: number
  admittedAtEnd?: boolean
}

const REGION = 'u33d'
/** A model CID that names no stored model: the target never fetches it for these floods. */
const MODEL_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

function count (c: FloodCounts, what: string): void {
  c.answers[what] = (c.answers[what] ?? 0) + 1
}

const yieldNow = async (): Promise<void> => new Promise(resolve => setImmediate(resolve))

function offer (ctx: FloodContext, jobId: string, shards: number, now: number): JobOffer {
  return {
    jobId,
    requester: ctx.node.peerId.toMultihash().bytes,
    modelCid: MODEL_CID,
    mode: JobMode.DATA,
    shardUnits: Array.from({ length: shards }, () => 1n),
    maxPricePerUnit: 10,
    deadline: BigInt(now + 4 * 60_000),
    redundancy: 1,
    minReputation: 0,
    region: REGION,
    round: 0,
    openShards: [],
    bidWindowMs: 500,
    inputs: []
  }
}

/** The control: nothing sent, until `endAt`. */
async function none (_ctx: FloodContext, endAt: number): Promise<FloodCounts> {
  await new Promise(resolve => setTimeout(resolve, Math.max(0, endAt - Date.now())))
  return { sent: 0, answers: {} }
}

/** (a) valid signed offers, as fast as the attacker signs them, on the region's offers topic. */
async function offers (ctx: FloodContext, endAt: number): Promise<FloodCounts> {
  const c: FloodCounts = { sent: 0, answers: {} }
  const topic = offersTopic(REGION)
  while (Date.now() < endAt) {
    const bytes = await sealMarketMessage({ offer: offer(ctx, `flood-${randomBytes(6).toString('hex')}`, 1, Date.now()) }, { privateKey: ctx.privateKey, certificate: ctx.certificate })
    try {
      const r = await ctx.node.libp2p.services.pubsub.publish(topic, bytes)
      count(c, r.recipients.length > 0 ? 'published' : 'noRecipients')
    } catch (err: any) {
      count(c, err?.code ?? err?.name ?? 'publishFailed')
    }
    c.sent++
    if (c.sent % 8 === 0) await yieldNow()
  }
  return c
}

/** One direct market exchange: the sealed message out, the kind of the signed answer (or ack code) back. */
async function direct (ctx: FloodContext, bytes: Uint8Array): Promise<string> {
  let stream: Stream | undefined
  try {
    stream = await ctx.node.libp2p.dialProtocol(ctx.target, MARKET_PROTOCOL, { signal: AbortSignal.timeout(5000) })
    const lp = lpStream(stream, { maxDataLength: MAX_MARKET_DIRECT_BYTES })
    await lp.write(bytes, { signal: AbortSignal.timeout(5000) })
    const reply = await lp.read({ signal: AbortSignal.timeout(5000) })
    await stream.close().catch(() => {})
    const opened = await openEnvelope(reply.subarray(), MARKET_DOMAIN, { payloadType: MARKET_PAYLOAD_TYPE, maxBytes: MAX_MARKET_DIRECT_BYTES })
    const m = MarketMessage.decode(opened.payload)
    if (m.ack != null) return m.ack.ok ? 'ack' : m.ack.code
    return m.accept != null ? 'accept' : m.decline != null ? 'decline' : 'other'
  } catch (err: any) {
    stream?.abort(err)
    return err?.name ?? 'error'
  }
}

/**
 * (b) awards that are never heartbeated: the attacker offers a few jobs of
 * 16 shards (so the target knows them and their requester), then awards
 * their shards with the longest heartbeat timeout a uint32 holds, from
 * `ctx.streams` concurrent exchanges, and never sends a heartbeat or opens
 * an infer stream.
 */
async function awards (ctx: FloodContext, endAt: number): Promise<FloodCounts> {
  const c: FloodCounts = { sent: 0, answers: {} }
  const privateKey = ctx.privateKey
  const now = Date.now()
  const jobs = Array.from({ length: 8 }, (_, i) => offer(ctx, `hog-${i}-${randomBytes(4).toString('hex')}`, 16, now))
  for (const o of jobs) {
    await ctx.node.libp2p.services.pubsub.publish(offersTopic(REGION), await sealMarketMessage({ offer: o }, { privateKey, certificate: ctx.certificate })).catch(() => {})
  }
  await new Promise(resolve => setTimeout(resolve, 1000))
  await Promise.all(Array.from({ length: Math.min(ctx.streams, 16) }, async () => {
    while (Date.now() < endAt) {
      const o = jobs[Math.floor(Math.random() * jobs.length)] as JobOffer
      const award = {
        jobId: o.jobId,
        leaseId: `lease-${randomBytes(8).toString('hex')}`,
        shardIndex: Math.floor(Math.random() * 16),
        replica: 0,
        units: 1n,
        pricePerUnit: 10,
        leaseTimeoutMs: 0xffffffff,
        deadline: o.deadline,
        modelCid: MODEL_CID,
        mode: JobMode.DATA,
        shardCount: 16
      }
      c.sent++
      count(c, await direct(ctx, await sealMarketMessage({ award }, { privateKey, certificate: ctx.certificate })))
    }
  }))
  return c
}

function frame (message: InferMessage): Uint8Array {
  const head = InferMessage.encode(message)
  const prefix = varint.encode(head.byteLength)
  const out = new Uint8Array(prefix.byteLength + head.byteLength)
  out.set(prefix, 0)
  out.set(head, prefix.byteLength)
  return out
}

/** Reads a stream to its end (or until `endAt`): how it ended, and the first error code the worker sent. */
async function drain (stream: Stream, endAt: number): Promise<string> {
  const timer = setTimeout(() => { stream.abort(new Error('flood over')) }, Math.max(0, endAt - Date.now()))
  let answer = 'closed'
  try {
    const bytes: Uint8Array[] = []
    for await (const chunk of stream) bytes.push(chunk.subarray())
    const all = Buffer.concat(bytes)
    if (all.byteLength > 0) {
      try {
        const len = varint.decode(all)
        const m = InferMessage.decode(all.subarray(varint.encodingLength(len), varint.encodingLength(len) + len))
        answer = m.error?.code ?? 'frame'
      } catch { answer = 'bytes' }
    }
  } catch (err: any) {
    answer = Date.now() >= endAt ? 'heldToEnd' : (err?.name ?? 'reset')
  } finally {
    clearTimeout(timer)
  }
  return answer
}

/** Runs `ctx.streams` loops, each opening a stream of `protocol`, writing `first()` (if any) and reading it to its end, until `endAt`. */
async function streamLoops (ctx: FloodContext, endAt: number, protocol: string, streams: number, first?: () => Uint8Array[]): Promise<FloodCounts> {
  const c: FloodCounts = { sent: 0, answers: {} }
  await Promise.all(Array.from({ length: streams }, async () => {
    while (Date.now() < endAt) {
      let stream: Stream
      try {
        stream = await ctx.node.libp2p.dialProtocol(ctx.target, protocol, { signal: AbortSignal.timeout(5000) })
      } catch (err: any) {
        count(c, `open:${err?.name ?? 'error'}`)
        await new Promise(resolve => setTimeout(resolve, 20))
        continue
      }
      c.sent++
      // read from the start: data and an end that arrive before anyone reads are not replayed to a later reader
      const answer = drain(stream, endAt)
      try {
        for (const piece of first?.() ?? []) if (!stream.send(piece)) await stream.onDrain({ signal: AbortSignal.timeout(5000) })
      } catch (err: any) {
        count(c, `send:${err?.name ?? 'error'}`)
      }
      count(c, await answer)
    }
  }))
  return c
}

/** (c) `open{kind:'feed'}` for random lease ids on infer streams. */
async function feedOpens (ctx: FloodContext, endAt: number): Promise<FloodCounts> {
  const open = (): InferOpen => ({
    jobId: 'flood',
    leaseId: `lease-${randomBytes(8).toString('hex')}`,
    modelCid: MODEL_CID,
    kind: 'feed',
    stage: 1,
    stageCount: 2,
    source: new Uint8Array(),
    next: new Uint8Array(),
    nextAddrs: [],
    nextLeaseId: '',
    constants: new Uint8Array(),
    fromRequester: [],
    jobItems: 0
  })
  return streamLoops(ctx, endAt, INFER_PROTOCOL, ctx.streams, () => [frame({ open: open() })])
}

/** Payload of a data frame: 1 MiB of a uint8 tensor. */
const DATA_BYTES = 1024 * 1024

/** (d) infer streams whose first frame is data (a 1 MiB tensor header) and its payload, with no open. */
async function dataBeforeOpen (ctx: FloodContext, endAt: number): Promise<FloodCounts> {
  const payload = new Uint8Array(DATA_BYTES)
  const { header } = encodeTensorHeader([{ name: 'x', dtype: 'uint8', dims: [DATA_BYTES], data: payload }])
  const head = frame({ data: { seq: 0, tensors: header, more: false, items: 1, stageComputeMs: [] } })
  return streamLoops(ctx, endAt, INFER_PROTOCOL, ctx.streams, () => [head, payload])
}

/** (e) infer, market and model streams opened and left silent (each reopened when the target closes it). */
async function idleStreams (ctx: FloodContext, endAt: number): Promise<FloodCounts> {
  const parts = await Promise.all([
    streamLoops(ctx, endAt, INFER_PROTOCOL, ctx.streams),
    streamLoops(ctx, endAt, MARKET_PROTOCOL, Math.min(ctx.streams, 32)),
    streamLoops(ctx, endAt, MODEL_PROTOCOL, Math.min(ctx.streams, 16))
  ])
  const c: FloodCounts = { sent: 0, answers: {} }
  for (const [i, p] of parts.entries()) {
    c.sent += p.sent
    for (const [k, n] of Object.entries(p.answers)) c.answers[`${['infer', 'market', 'model'][i] as string}:${k}`] = n
  }
  return c
}

/** The flood of each kind. */
export const FLOODS: Record<FloodKind, (ctx: FloodContext, endAt: number) => Promise<FloodCounts>> = { none, offers, awards, feedOpens, dataBeforeOpen, idleStreams }
