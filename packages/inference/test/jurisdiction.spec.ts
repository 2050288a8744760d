import assert from 'node:assert/strict'
import { issueCertificate } from '@fleetmesh/protocol'
import { generateMlp, maxAbsDiff, modelCid } from '@fleetmesh/runtime'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { follow, pattern, runLocal, startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

const MODEL = generateMlp({ inputs: 16, hidden: [32], outputs: 4, seed: 21 })

/** Data residency: a job that requires a jurisdiction runs only on workers certified there. */
describe('data residency', function () {
  this.timeout(90_000)
  let mesh: JobMesh
  const eu: MeshNode[] = []
  const us: MeshNode[] = []
  before(async () => {
    mesh = await startJobMesh([])
    for (const [list, jurisdiction] of [[eu, 'eu'], [eu, 'eu'], [us, 'us'], [us, 'us']] as const) {
      const privateKey = await generateKeyPair('Ed25519')
      const certificate = await issueCertificate(mesh.fleet.authority, { peerId: peerIdFromPrivateKey(privateKey), role: 'station', region: 'u33d', jurisdiction, validForMs: 3600_000 })
      list.push(await mesh.addWorker({ privateKey, certificate }))
    }
    await new Promise(resolve => setTimeout(resolve, 1500)) // gossip meshes graft
  })
  after(async () => { await mesh?.stop() })

  it('a job requiring eu in a mesh of eu and us workers runs only on eu workers, and its receipts say eu', async () => {
    const input = pattern('x', [24, 16], 0.4)
    const job = mesh.requester.submit({ model: MODEL, inputs: [input], shards: 4, maxPrice: 10, jurisdiction: 'eu' })
    const r = await follow(job)
    assert.equal(r.error, undefined, String(r.error?.message))
    const [expected] = await runLocal(MODEL, [input])
    assert.ok(maxAbsDiff(r.outputs?.[0] as WireTensor, expected as WireTensor) <= 1e-5)
    const euIds = new Set(eu.map(n => n.peerId.toString()))
    const ran = new Set(r.events.filter(e => e.type === 'awarded' || e.type === 'shard-finished').map(e => (e as { worker: string }).worker))
    assert.ok(ran.size > 0 && [...ran].every(w => euIds.has(w)), `only eu workers got shards: ${[...ran].join(', ')}`)
    const settled = await job.settlement
    assert.ok(settled.accepted.length > 0)
    assert.ok(settled.accepted.every(rc => rc.workerJurisdiction === 'eu' && euIds.has(rc.worker)), 'every receipt names an eu worker')
  })

  it('a us worker cannot fetch the eu job\'s model from the requester', async () => {
    const cid = modelCid(MODEL)
    await assert.rejects((us[0] as MeshNode).fetchModel(cid, { from: mesh.requester.peerId }), (err: any) => /ERR_JURISDICTION/.test(String(err?.message) + JSON.stringify(err?.attempts ?? [])))
  })

  it('with no worker certified there, the job fails at once naming the jurisdiction', async () => {
    const r = await follow(mesh.requester.submit({ model: MODEL, inputs: [pattern('x', [4, 16], 1)], shards: 1, maxPrice: 10, jurisdiction: 'ch' }))
    assert.equal(r.error?.name, 'NoBidsError', String(r.error?.message))
    assert.equal(r.error.reason, 'jurisdiction')
    assert.match(r.error.message, /jurisdiction/)
  })
})
