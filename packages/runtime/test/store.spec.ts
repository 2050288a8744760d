import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateMlp, modelCid, ModelStore, parseModelCid } from '../src/index.js'

describe('content-addressed model store', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'fleetmesh-store-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('stores by CID (CIDv1 raw sha2-256), with metadata, and persists across reopen', async () => {
    const bytes = generateMlp({ seed: 7 })
    const store = await ModelStore.open(dir)
    const entry = await store.put(bytes)
    assert.equal(entry.cid, modelCid(bytes))
    assert.equal(parseModelCid(entry.cid).version, 1)
    assert.ok(entry.cid.startsWith('bafkrei'), `raw sha2-256 CIDv1 in base32: ${entry.cid}`)
    assert.equal(entry.size, bytes.byteLength)
    assert.deepEqual(entry.info.inputs, [{ name: 'x', dtype: 'float32', shape: ['batch', 16] }])
    assert.deepEqual(entry.info.outputs, [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }])
    assert.equal(entry.info.nodeCount, 8)
    assert.equal(store.has(entry.cid), true)
    assert.deepEqual(await store.get(entry.cid), bytes)
    const again = await ModelStore.open(dir)
    assert.deepEqual(again.list().map(e => e.cid), [entry.cid])
    assert.deepEqual(await again.get(entry.cid, { verify: true }), bytes)
  })

  it('evicts the least recently used models to stay within its budget', async () => {
    const models = [1, 2, 3].map(seed => generateMlp({ seed, hidden: [64] }))
    const size = models[0]?.byteLength as number
    const store = await ModelStore.open(dir, { budgetBytes: size * 2 + 10 })
    const [a, b] = [await store.put(models[0] as Uint8Array), await store.put(models[1] as Uint8Array)]
    await store.get(a.cid) // a is now more recently used than b
    const c = await store.put(models[2] as Uint8Array)
    assert.equal(store.has(b.cid), false, 'b, the least recently used, was evicted')
    assert.equal(store.has(a.cid), true)
    assert.equal(store.has(c.cid), true)
    assert.ok(store.usedBytes <= store.budgetBytes)
    await assert.rejects(store.put(generateMlp({ hidden: [256, 256] })), { name: 'ModelTooLargeError' })
  })

  it('refuses bytes that do not match the expected CID, and unknown CIDs', async () => {
    const store = await ModelStore.open(dir)
    const a = generateMlp({ seed: 1 })
    const b = generateMlp({ seed: 2 })
    await assert.rejects(store.put(b, modelCid(a)), { name: 'ModelHashMismatchError' })
    assert.equal(store.list().length, 0)
    await assert.rejects(store.get(modelCid(a)), { name: 'ModelNotFoundError' })
    assert.throws(() => store.path('../../etc/passwd'), { name: 'InvalidCidError' })
  })

  it('stores bytes the caller already hashed under their CID without hashing them again, and they verify on read', async () => {
    const store = await ModelStore.open(dir)
    const a = generateMlp({ seed: 3 })
    const e = await store.put(a, modelCid(a), { hashed: true })
    assert.equal(e.cid, modelCid(a))
    assert.deepEqual(await store.get(e.cid, { verify: true }), a)
    // without an expected CID the flag means nothing: the store hashes the bytes itself
    const b = generateMlp({ seed: 4 })
    assert.equal((await store.put(b, undefined, { hashed: true })).cid, modelCid(b))
  })

  it('stages a model written piece by piece while it arrives: stored on commit, nothing left behind on abort or a bad commit', async () => {
    const store = await ModelStore.open(dir)
    const a = generateMlp({ seed: 5, hidden: [64, 64] })
    const staged = store.stage(modelCid(a), a.byteLength)
    for (let at = 0; at < a.byteLength; at += 1000) staged.write(a.subarray(at, at + 1000))
    const e = await staged.commit(a)
    assert.equal(e.cid, modelCid(a))
    assert.deepEqual(await store.get(e.cid, { verify: true }), a, 'the file holds exactly the pieces written')
    assert.deepEqual((await readdir(dir)).sort(), [`${e.cid}.json`, `${e.cid}.onnx`])
    // bytes that do not hash to the CID: refused, the temporary file removed
    const b = generateMlp({ seed: 6 })
    const bad = store.stage(modelCid(b), a.byteLength)
    bad.write(a)
    await assert.rejects(bad.commit(a), { name: 'ModelHashMismatchError' })
    const aborted = store.stage(modelCid(b), b.byteLength)
    aborted.write(b.subarray(0, 100))
    await aborted.abort()
    assert.deepEqual((await readdir(dir)).sort(), [`${e.cid}.json`, `${e.cid}.onnx`], 'no temporary file left')
    assert.equal(store.has(modelCid(b)), false)
    assert.throws(() => store.stage(modelCid(b), store.budgetBytes + 1), { name: 'ModelTooLargeError' })
  })

  it('stores the same model put twice at once (two sessions opening on one model): both puts give its entry, and no temporary file is left', async () => {
    const store = await ModelStore.open(dir)
    const bytes = generateMlp({ seed: 9 })
    const entries = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes)])
    for (const e of entries) assert.equal(e.cid, modelCid(bytes))
    assert.deepEqual(await store.get(modelCid(bytes), { verify: true }), bytes)
    const names = await readdir(dir)
    assert.deepEqual(names.filter(n => !n.endsWith('.onnx') && !n.endsWith('.json')), [], `only the model and its metadata: ${names.join(', ')}`)
  })

  it('removes temporary files of fetches a stopped node never finished when it opens', async () => {
    const store = await ModelStore.open(dir)
    const a = generateMlp({ seed: 7 })
    const staged = store.stage(modelCid(a), a.byteLength)
    staged.write(a)
    const hasPart = async (): Promise<boolean> => (await readdir(dir)).some(n => n.endsWith('.part'))
    for (let i = 0; i < 250 && !await hasPart(); i++) await new Promise(resolve => setTimeout(resolve, 20))
    assert.ok(await hasPart(), 'a staged file exists')
    await ModelStore.open(dir)
    assert.deepEqual(await readdir(dir), [])
    await staged.abort()
  })

  it('detects a stored file corrupted on disk when asked to verify', async () => {
    const store = await ModelStore.open(dir)
    const e = await store.put(generateMlp())
    const bytes = await store.get(e.cid)
    const corrupt = Uint8Array.from(bytes)
    corrupt[100] = (corrupt[100] as number) ^ 0xff
    await writeFile(join(dir, `${e.cid}.onnx`), corrupt)
    await assert.rejects(store.get(e.cid, { verify: true }), { name: 'ModelHashMismatchError' })
  })
})
