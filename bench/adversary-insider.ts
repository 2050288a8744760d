/**
 * The insider part of bench/adversary: an ADMITTED attacker (real
 * certificate, real mesh node, its own process) floods one worker (its own
 * process, so its RSS is its own) while an honest requester (this process)
 * runs a 24-item data-parallel job of a tiny MLP on that worker and one
 * other, back to back. Floods one after the other (see adversary-floods.ts):
 * offers, awards never heartbeated, feed opens for unknown leases, data
 * before open, idle streams.
 *
 * Per flood: the target's RSS before, at its peak during the flood
 * (sampled every second) and after; the honest job's median wall time
 * during the flood ÷ its quiet time. The quiet time is the median job of
 * the control `none` (the same 20 s of back-to-back jobs, with the
 * attacker connected and silent) when it runs, which it does first: the
 * jobs run just after start-up (`quietJobsMs`, after two warm-up jobs)
 * were 30-45 % slower than the control's, the code not yet warm; without
 * the control, the median of those.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMeshNode } from '@fleetmesh/peer'
import { generateMlp } from '@fleetmesh/runtime'
import { createFleetKeys, createTestGrant, createTestIdentity, forkNode, killChildProcesses, loopbackGossip, loopbackListen, serializeIdentity } from '@fleetmesh/test-utils'
import { FLOOD_KINDS } from './adversary-floods.js'
import type { AttackerConfig } from './adversary-attacker.js'
import type { FloodCounts, FloodKind } from './adversary-floods.js'
import type { JobsWorkerConfig } from './jobs-worker.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { ForkedNode } from '@fleetmesh/test-utils'

/** Options of {@link insiderFigures}. */
export interface InsiderOptions {
  /** how long each flood runs, ms */
  floodMs: number
  /** concurrent streams per stream flood */
  streams: number
  /**
   * niceness of the attacker's process (0..19): an attacker has a machine
   * of its own, so on one shared machine it should not take the fleet's CPU
   * @default 10
   */
  attackerNiceness?: number
  /** the floods to run @default all of FLOOD_KINDS */
  floods?: readonly FloodKind[]
  /** progress notes (stderr) */
  note?: (msg: string) => void
  /**
   * a folder for the target's heap snapshots: the target runs with
   * --expose-gc and writes `<flood>-before.heapsnapshot` and
   * `<flood>-after.heapsnapshot` (after a forced collection, the second
   * once the flood has settled; `<flood>-mid.heapsnapshot` at three quarters
   * of the flood), and `<flood>.heapprofile` (the sampling
   * heap profiler over the flood, collected objects included: what it
   * allocated, by stack); the detail then holds its memory after each
   */
  heapDir?: string
  /** a folder for the target's CPU profile of each flood, `<flood>.cpuprofile` */
  cpuProfDir?: string
}

/** One sample of the target process. */
interface TargetSample {
  rssBytes: number
  /** CPU time the process used so far, µs */
  cpuMicros: number
  heapUsedBytes: number
  heapTotalBytes: number
  externalBytes: number
  arrayBuffersBytes: number
  sessions: number
  connections: number
  streams: number
}

/** What one flood did. */
export interface FloodDetail {
  /** target RSS, MiB: before the flood, its peak during it, right after it, 3 s later */
  rssMiB: { before: number, peak: number, after: number, settled: number }
  /** peak RSS minus RSS before, MiB */
  rssGrowthMiB: number
  /** CPU the target and the other worker used during the flood, share of one core */
  cpuShare: { target: number, other: number }
  /** the target's peak V8 heap (total and used) and external memory during the flood, MiB */
  peakHeapMiB: { total: number, used: number, external: number }
  /** most infer sessions and streams the target held during the flood */
  peakSessions: number
  peakStreams: number
  /** honest jobs run during the flood: their wall times, ms, and how many failed */
  honestJobsMs: number[]
  honestJobsFailed: number
  /** median honest job during ÷ the quiet time (the control's median job, see the module docs) */
  slowdown: number
  /** what the attacker sent and how the target answered */
  attacker: FloodCounts | { error: string }
  /** heap used, external and RSS (MiB) of the target after a forced collection, before the flood and once it settled (with `heapDir`) */
  heapMiB?: { before: HeapFigures, mid: HeapFigures, after: HeapFigures }
}

/** The target's memory after a forced collection, MiB. */
interface HeapFigures { heapUsed: number, external: number, arrayBuffers: number, rss: number }

/** The insider figures and their detail. */
export interface InsiderResult {
  /** over the floods (the control `none` left out); noFloodRssGrowthMiB and noFloodJobsFailed: the control's, what the honest jobs cost with no flood */
  figures: { floodRssGrowthMiB: number, honestJobSlowdown: number, honestJobsFailed: number, noFloodRssGrowthMiB?: number, noFloodJobsFailed?: number }
  /** quietJobsMs: the jobs after start-up; quietJobMs: the quiet time the slowdowns divide by (the control's median job, or the median of quietJobsMs without it) */
  detail: { floodMs: number, streams: number, attackerNiceness: number, quietJobsMs: number[], quietJobMs: number, floods: Partial<Record<FloodKind, FloodDetail>> }
}

const MiB = 1024 * 1024
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)] as number }

function pattern (dims: number[]): WireTensor {
  return { name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 0.5) }
}

async function sample (target: ForkedNode): Promise<TargetSample> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { target.child.off('message', on); reject(new Error('the target did not answer a sample within 10 s')) }, 10_000)
    const on = (msg: any): void => {
      if (msg?.type !== 'sample') return
      clearTimeout(timer)
      target.child.off('message', on)
      resolve(msg)
    }
    target.child.on('message', on)
    target.send({ type: 'sample' })
  })
}

async function heap (target: ForkedNode, file?: string): Promise<HeapFigures> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { target.child.off('message', on); reject(new Error('the target did not answer a heap request within 120 s')) }, 120_000)
    const on = (msg: any): void => {
      if (msg?.type !== 'heap') return
      clearTimeout(timer)
      target.child.off('message', on)
      resolve({ heapUsed: round(msg.heapUsed / MiB, 1), external: round(msg.external / MiB, 1), arrayBuffers: round(msg.arrayBuffers / MiB, 1), rss: round(msg.rss / MiB, 1) })
    }
    target.child.on('message', on)
    target.send({ type: 'heap', file })
  })
}

async function allocations (target: ForkedNode, action: 'start' | 'stop', file?: string, type: 'allocations' | 'cpu' = 'allocations'): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { target.child.off('message', on); reject(new Error(`the target did not answer a ${type} request within 60 s`)) }, 60_000)
    const on = (msg: any): void => {
      if (msg?.type !== type) return
      clearTimeout(timer)
      target.child.off('message', on)
      resolve()
    }
    target.child.on('message', on)
    target.send({ type, action, file })
  })
}

async function flooded (attacker: ForkedNode, kind: FloodKind, timeoutMs: number): Promise<FloodCounts | { error: string }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { attacker.child.off('message', on); resolve({ error: `no report within ${timeoutMs} ms` }) }, timeoutMs)
    const on = (msg: any): void => {
      if (msg?.type !== 'flooded' || msg.kind !== kind) return
      clearTimeout(timer)
      attacker.child.off('message', on)
      resolve(msg.error != null ? { error: msg.error } : msg.counts)
    }
    attacker.child.on('message', on)
  })
}

/**
 * Runs the insider floods against a fresh fleet (requester here, target,
 * second worker and attacker forked) and stops every node and child.
 */
export async function insiderFigures (options: InsiderOptions): Promise<InsiderResult> {
  const note = options.note ?? (() => {})
  const root = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-adversary-'))
  let requester: MeshNode | undefined
  try {
    const keys = await createFleetKeys()
    const { authority, swarmKey } = keys
    const own = await createTestIdentity(authority, { role: 'station' })
    // the requester's credit: workers check it before they bid (a forked worker adds the fleet's grants at start)
    const grant = await createTestGrant(authority, own.peerId.toString())
    keys.grants = () => [grant]
    requester = await createMeshNode({
      role: 'station',
      region: 'u33d',
      privateKey: own.privateKey,
      certificate: own.certificate,
      swarmKey,
      trustedAuthorities: [authority.publicKey],
      listen: [loopbackListen()],
      modelStore: { dir: join(root, 'requester') },
      market: { bidWindowMs: 300 },
      ledger: { grants: [grant] },
      gossip: loopbackGossip()
    })
    const boot = requester.getMultiaddrs().map(String)
    const worker = async (name: string, script: string, execArgv: string[] = []): Promise<ForkedNode> => {
      const file = join(root, `${name}.json`)
      const config: JobsWorkerConfig = {
        ...serializeIdentity(await createTestIdentity(authority, { role: 'station' }), keys),
        bootstrap: boot,
        listen: loopbackListen(),
        storeDir: join(root, name),
        threads: 1
      }
      await writeFile(file, JSON.stringify(config))
      return forkNode(new URL(script, import.meta.url), { args: [file], execArgv, env: { DEBUG: process.env[`${name.toUpperCase()}_DEBUG`] ?? '' }, readyTimeoutMs: 120_000, name })
    }
    const [target, other] = await Promise.all([worker('target', './adversary-target.js', options.heapDir != null ? ['--expose-gc'] : []), worker('other', './adversary-target.js')]) as [ForkedNode, ForkedNode]
    const attackerFile = join(root, 'attacker.json')
    const attackerConfig: AttackerConfig = {
      ...serializeIdentity(await createTestIdentity(authority, { role: 'station' }), keys),
      listen: loopbackListen(),
      bootstrap: boot,
      target: target.ready.peerId,
      targetAddrs: target.ready.addrs,
      streams: options.streams
    }
    await writeFile(attackerFile, JSON.stringify(attackerConfig))
    const attacker: ForkedNode = await forkNode(new URL('./adversary-attacker.js', import.meta.url), { args: [attackerFile], execArgv: [], env: { DEBUG: process.env.ATTACKER_DEBUG ?? '' }, readyTimeoutMs: 120_000, name: 'attacker' })
    // the attacker would have a machine of its own: on this one it takes only the CPU the fleet leaves
    if (attacker.child.pid != null) setPriority(attacker.child.pid, options.attackerNiceness ?? 10)
    await requester.announced()
    await new Promise(resolve => setTimeout(resolve, 1500))
    note(`insider: requester ${requester.peerId.toString()}, target ${String(target.ready.peerId)}, other ${String(other.ready.peerId)}, attacker ${String(attacker.ready.peerId)}`)

    const mlp = generateMlp({ hidden: [16] })
    const input = pattern([24, 16])
    const job = async (): Promise<{ ms: number, ok: boolean }> => {
      const start = Date.now()
      const events: string[] = []
      try {
        const handle = (requester as MeshNode).submit({ model: mlp, inputs: [input], mode: 'data', shards: 2, microBatch: 4, maxPrice: 10, bidWindowMs: 300, deadline: Date.now() + 90_000 })
        for await (const e of handle) events.push(`${e.at - start} ${e.type} ${(e as any).worker?.slice(-6) ?? ''} ${(e as any).reason ?? (e as any).message ?? ''}`)
        await handle.result
        if (process.env.JOB_TRACE != null) note(`job ${Date.now() - start} ms: ${events.join(' | ')}`)
        return { ms: Date.now() - start, ok: true }
      } catch (err: any) {
        note(`honest job failed - ${err?.name ?? 'Error'}: ${err?.message ?? err}; events: ${events.join(' | ')}`)
        return { ms: Date.now() - start, ok: false }
      }
    }
    note('insider: warm and quiet jobs')
    for (let i = 0; i < 2; i++) await job()
    const quietJobsMs: number[] = []
    for (let i = 0; i < 5; i++) quietJobsMs.push((await job()).ms)
    let quiet = median(quietJobsMs)

    const floods: Partial<Record<FloodKind, FloodDetail>> = {}
    for (const kind of options.floods ?? FLOOD_KINDS) {
      note(`insider: flood ${kind} for ${options.floodMs} ms`)
      const heapBefore = options.heapDir != null ? await heap(target, join(options.heapDir, `${kind}-before.heapsnapshot`)) : undefined
      if (options.heapDir != null) await allocations(target, 'start')
      if (options.cpuProfDir != null) await allocations(target, 'start', undefined, 'cpu')
      const before = await sample(target)
      const otherBefore = await sample(other)
      const samples: TargetSample[] = [before]
      const report = flooded(attacker, kind, options.floodMs + 60_000)
      const startedAt = Date.now()
      attacker.send({ type: 'flood', kind, ms: options.floodMs })
      const sampling = new AbortController()
      const sampler = (async () => {
        while (!sampling.signal.aborted) {
          await new Promise(resolve => setTimeout(resolve, 1000))
          samples.push(await sample(target).catch(() => before))
        }
      })()
      // what the target holds live at three quarters of the flood
      const midHeap = options.heapDir != null ? new Promise(resolve => setTimeout(resolve, options.floodMs * 0.75)).then(async () => heap(target, join(options.heapDir as string, `${kind}-mid.heapsnapshot`))) : undefined
      const honest: Array<{ ms: number, ok: boolean }> = []
      while (Date.now() - startedAt < options.floodMs) honest.push(await job())
      const counts = await report
      const heapMid = await midHeap
      sampling.abort()
      await sampler
      const after = await sample(target)
      if (options.heapDir != null) await allocations(target, 'stop', join(options.heapDir, `${kind}.heapprofile`))
      if (options.cpuProfDir != null) await allocations(target, 'stop', join(options.cpuProfDir, `${kind}.cpuprofile`), 'cpu')
      const otherAfter = await sample(other)
      const elapsedMicros = (Date.now() - startedAt) * 1000
      await new Promise(resolve => setTimeout(resolve, 3000))
      const settled = await sample(target)
      const heapAfter = options.heapDir != null ? await heap(target, join(options.heapDir, `${kind}-after.heapsnapshot`)) : undefined
      samples.push(after)
      const peak = Math.max(...samples.map(s => s.rssBytes))
      const times = honest.map(h => h.ms)
      // the control is the quiet time of the floods after it: the same jobs, as long, warm
      if (kind === 'none' && times.length > 0) quiet = median(times)
      floods[kind] = {
        rssMiB: { before: round(before.rssBytes / MiB, 1), peak: round(peak / MiB, 1), after: round(after.rssBytes / MiB, 1), settled: round(settled.rssBytes / MiB, 1) },
        rssGrowthMiB: round((peak - before.rssBytes) / MiB, 1),
        cpuShare: { target: round((after.cpuMicros - before.cpuMicros) / elapsedMicros), other: round((otherAfter.cpuMicros - otherBefore.cpuMicros) / elapsedMicros) },
        peakHeapMiB: { total: round(Math.max(...samples.map(s => s.heapTotalBytes)) / MiB, 1), used: round(Math.max(...samples.map(s => s.heapUsedBytes)) / MiB, 1), external: round(Math.max(...samples.map(s => s.externalBytes)) / MiB, 1) },
        peakSessions: Math.max(...samples.map(s => s.sessions)),
        peakStreams: Math.max(...samples.map(s => s.streams)),
        honestJobsMs: times,
        honestJobsFailed: honest.filter(h => !h.ok).length,
        slowdown: round(median(times) / quiet),
        attacker: counts,
        ...(heapBefore != null && heapAfter != null ? { heapMiB: { before: heapBefore, mid: heapMid as HeapFigures, after: heapAfter } } : {})
      }
      note(`insider: ${kind} ${JSON.stringify(floods[kind])}`)
    }
    const details = Object.entries(floods).filter(([kind]) => kind !== 'none').map(([, d]) => d)
    return {
      figures: {
        ...(floods.none != null ? { noFloodRssGrowthMiB: floods.none.rssGrowthMiB, noFloodJobsFailed: floods.none.honestJobsFailed } : {}),
        floodRssGrowthMiB: Math.max(...details.map(d => d.rssGrowthMiB)),
        honestJobSlowdown: Math.max(...details.map(d => d.slowdown)),
        honestJobsFailed: details.reduce((a, d) => a + d.honestJobsFailed, 0)
      },
      detail: { floodMs: options.floodMs, streams: options.streams, attackerNiceness: options.attackerNiceness ?? 10, quietJobsMs, quietJobMs: quiet, floods }
    }
  } finally {
    await killChildProcesses()
    await requester?.stop()
    await rm(root, { recursive: true, force: true })
  }
}
