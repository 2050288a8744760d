import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DET_INPUT_SHAPE, REC_HEIGHT, characterAccuracy, decodePages, defaultPages, detSampleInput, loadPages, localBackend, ocrPages, renderPages
} from '@fleetmesh/example-testnet/ocr'
import type { OcrBackend, OcrResult, RenderedPage } from '@fleetmesh/example-testnet/ocr'
import type { WireTensor } from '@fleetmesh/protocol'

/** Wraps a backend and records the input shape of every call. */
function recording (backend: OcrBackend): OcrBackend & { calls: { det: number[][], rec: number[][] } } {
  const calls = { det: [] as number[][], rec: [] as number[][] }
  return {
    calls,
    det: async (inputs: WireTensor[]) => { calls.det.push(...inputs.map(t => [...t.dims])); return backend.det(inputs) },
    rec: async (inputs: WireTensor[]) => { calls.rec.push(...inputs.map(t => [...t.dims])); return backend.rec(inputs) }
  }
}

function pageText (result: OcrResult, page: number): string {
  return (result.pages[page]?.lines ?? []).map(l => l.text).join('\n')
}

describe('OCR demo (PP-OCRv4 det + rec, one batch each, onnxruntime in process)', function () {
  this.timeout(120_000)
  let local: Awaited<ReturnType<typeof localBackend>>
  let rendered: RenderedPage[]
  let dir: string
  let result: OcrResult
  let calls: { det: number[][], rec: number[][] }

  before(async () => {
    local = await localBackend({ intraOpNumThreads: 1 })
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-ocr-'))
    rendered = await renderPages(defaultPages)
    const backend = recording(local)
    calls = backend.calls
    result = await ocrPages(await decodePages(rendered.map(r => r.png)), backend)
  })

  after(async () => {
    await local?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('reads rendered office pages at ≥ 90 % character accuracy', () => {
    let errors = 0
    let chars = 0
    for (const [i, page] of rendered.entries()) {
      const expected = page.text.join('\n')
      const actual = pageText(result, i)
      const accuracy = characterAccuracy(expected, actual)
      errors += (1 - accuracy) * expected.length
      chars += expected.length
      console.log(`      page ${i}: ${(accuracy * 100).toFixed(1)} % of ${expected.length} characters, ${result.pages[i]?.lines.length} lines`)
      assert.ok(accuracy >= 0.8, `page ${i} accuracy ${accuracy}; read:\n${actual}`)
    }
    const overall = 1 - errors / chars
    const t = result.timings
    console.log(`      overall: ${(overall * 100).toFixed(1)} %; det ${JSON.stringify(result.detShape)} ${t.detMs.toFixed(0)} ms, rec ${JSON.stringify(result.recShape)} ${t.recMs.toFixed(0)} ms, total ${t.totalMs.toFixed(0)} ms`)
    assert.ok(overall >= 0.9, `overall character accuracy ${overall}`)
  })

  it('makes one det call for all pages and one rec call for all lines found', () => {
    assert.deepEqual(calls.det, [[rendered.length, ...DET_INPUT_SHAPE]], 'one det call, batch = pages, the fixed det shape')
    assert.equal(result.detBatch, rendered.length)
    const lines = result.pages.reduce((n, p) => n + p.lines.length, 0)
    assert.equal(calls.rec.length, 1, 'one rec call')
    const [batch, channels, height, width] = calls.rec[0] ?? []
    assert.equal(batch, result.recBatch, 'rec batch = line images')
    assert.equal(batch, lines + result.dropped, 'every line image is a returned line or counted as dropped')
    assert.ok(lines >= defaultPages.flat().length * 0.9, `found ${lines} lines`)
    assert.equal(channels, 3)
    assert.equal(height, REC_HEIGHT)
    assert.equal((width ?? 1) % 8, 0, `rec width ${width} is a multiple of 8`)
    assert.deepEqual(result.recShape, calls.rec[0])
  })

  it('returns lines top to bottom with boxes on the page', () => {
    for (const [i, page] of result.pages.entries()) {
      let lastTop = -1
      for (const line of page.lines) {
        assert.equal(line.box.length, 4, `page ${i} "${line.text}" has four corners`)
        const top = Math.min(...line.box.map(p => p[1]))
        assert.ok(top > lastTop, `page ${i} "${line.text}" (top ${top}) is below the line before (top ${lastTop})`)
        lastTop = top
        for (const [x, y] of line.box) assert.ok(x >= 0 && x <= page.width && y >= 0 && y <= page.height, `page ${i} "${line.text}" box on the page`)
        assert.ok(line.score > 0.5 && line.score <= 1, `page ${i} "${line.text}" score ${line.score}`)
      }
    }
  })

  it('reads a page written as PNG and loaded back with loadPages to the same text', async () => {
    const file = join(dir, 'page0.png')
    await writeFile(file, rendered[0]!.png)
    const pages = await loadPages([file])
    assert.equal(pages[0]?.width, rendered[0]!.width)
    assert.equal(pages[0]?.height, rendered[0]!.height)
    const again = await ocrPages(pages, local)
    assert.equal(pageText(again, 0), pageText(result, 0))
  })

  it('straightens skewed lines (rotated boxes and crops)', async () => {
    const [skewed] = await renderPages([defaultPages[0]!], { skewDegrees: 4 })
    const again = await ocrPages(await decodePages([skewed!.png]), local)
    const accuracy = characterAccuracy(skewed!.text.join('\n'), pageText(again, 0))
    console.log(`      skewed 4°: ${(accuracy * 100).toFixed(1)} %`)
    assert.ok(accuracy >= 0.9, `accuracy ${accuracy}; read:\n${pageText(again, 0)}`)
    for (const line of again.pages[0]!.lines) {
      const [[x0, y0], [x1, y1]] = line.box as [[number, number], [number, number]]
      const degrees = Math.atan2(y1 - y0, x1 - x0) * 180 / Math.PI
      assert.ok(Math.abs(degrees - 4) < 1.5, `"${line.text}" box top edge at ${degrees.toFixed(1)}°`)
    }
  })

  it('rejects unreadable page files with ImageReadError', async () => {
    const file = join(dir, 'not-an-image.png')
    await writeFile(file, 'this is text, not a PNG')
    await assert.rejects(loadPages([file]), (err: any) => err.name === 'ImageReadError' && err.code === 'ERR_OCR_IMAGE_READ' && err.message.includes(file))
    await assert.rejects(loadPages([join(dir, 'missing.png')]), (err: any) => err.name === 'ImageReadError' && err.message.includes('ENOENT'))
  })

  it('rejects a backend output of the wrong shape with OcrBackendError', async () => {
    const [page] = await decodePages([rendered[0]!.png])
    const wrong: OcrBackend = {
      det: async () => [{ name: 'y', dtype: 'float32', dims: [1, 1, 32, 32], data: new Float32Array(32 * 32) }],
      rec: async () => []
    }
    await assert.rejects(ocrPages([page!], wrong), (err: any) => err.name === 'OcrBackendError' && /\[1, 1, 960, 672\]/.test(err.message))
  })

  it('builds det sample inputs of the fixed shape', () => {
    const sample = detSampleInput(2)
    assert.equal(sample.name, 'x')
    assert.equal(sample.dtype, 'float32')
    assert.deepEqual(sample.dims, [2, ...DET_INPUT_SHAPE])
    assert.equal(sample.data.length, 2 * DET_INPUT_SHAPE.reduce((a, b) => a * b, 1))
    assert.ok(DET_INPUT_SHAPE[1] % 32 === 0 && DET_INPUT_SHAPE[2] % 32 === 0)
  })

  it('scores character accuracy with Levenshtein distance, clamped to 0..1', () => {
    assert.equal(characterAccuracy('abcd', 'abcd'), 1)
    assert.equal(characterAccuracy('abcd', 'abxd'), 0.75)
    assert.equal(characterAccuracy('ab', 'xxxxxxxx'), 0)
    assert.equal(characterAccuracy('', ''), 1)
  })
})
