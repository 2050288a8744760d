/**
 * Adversary benchmark: what an outsider (a stock js-libp2p node with the
 * swarm key but no certificate) gets out of a fleetmesh mesh, and what an
 * admitted insider's floods cost one worker (see adversary-outsider.ts and
 * adversary-insider.ts).
 *
 * Prints one JSON object with `figures`: the outsider's
 * (outsiderGossipMessages, outsiderDhtAnswers, outsiderFleetmeshBytes,
 * outsiderCutP99Ms, memberJoinUnderFloodMs, wrongKeyFailP99Ms) and the
 * insider's: floodRssGrowthMiB (the target's peak RSS during a flood minus
 * its RSS before, max over floods; goal <= 64), honestJobSlowdown (an
 * honest 24-item job's median wall time during a flood ÷ its quiet time,
 * the median job of the no-flood control run first; max over
 * floods; goal <= 2), honestJobsFailed; and per-flood `insider.floods`.
 *
 * Environment: FLOOD_MS (each flood's duration, ms; default 20000),
 * FLOOD_STREAMS (concurrent streams per stream flood; default 64),
 * ATTACKER_NICE (the attacker process's niceness, 0..19; default 10: on a
 * shared machine it must not take the fleet's CPU, as it would not on its own),
 * ADVERSARY_PARTS (`outsider`, `insider` or both, comma-separated; default
 * both), FLOODS (comma-separated subset of the floods), HEAP_DIR (a folder
 * for the target's heap snapshots before and after each flood, taken after
 * a forced collection), TARGET_CPU_PROF (a folder for the target's CPU
 * profile over the whole run), BENCH_TRACE (progress on stderr).
 */
import { loadavg } from 'node:os'
import { FLOOD_KINDS } from './adversary-floods.js'
import { insiderFigures } from './adversary-insider.js'
import { outsiderFigures } from './adversary-outsider.js'
import type { FloodKind } from './adversary-floods.js'

const parts = (process.env.ADVERSARY_PARTS ?? 'outsider,insider').split(',').map(p => p.trim())
const floodMs = Number(process.env.FLOOD_MS ?? 20_000)
const streams = Number(process.env.FLOOD_STREAMS ?? 64)
const floods = process.env.FLOODS != null ? process.env.FLOODS.split(',').map(f => f.trim()).filter((f): f is FloodKind => (FLOOD_KINDS as readonly string[]).includes(f)) : FLOOD_KINDS
const note = (msg: string): void => { if (process.env.BENCH_TRACE != null) console.error(new Date().toISOString(), msg) }

const loadBefore = loadavg()[0] as number
const outsider = parts.includes('outsider') ? await outsiderFigures() : undefined
const insider = parts.includes('insider') ? await insiderFigures({ floodMs, streams, floods, note, attackerNiceness: Number(process.env.ATTACKER_NICE ?? 10), heapDir: process.env.HEAP_DIR, cpuProfDir: process.env.TARGET_CPU_PROF }) : undefined
console.log(JSON.stringify({
  bench: 'adversary',
  date: new Date().toISOString(),
  load1: { before: loadBefore, after: loadavg()[0] },
  figures: { ...outsider?.figures, ...insider?.figures },
  detail: { outsider: outsider?.detail, insider: insider?.detail }
}, null, 2))
process.exit(0)
