import type { WireTensor } from '@fleetmesh/protocol'
import {
  BOX_THRESHOLD, DET_INPUT_HEIGHT, DET_INPUT_WIDTH, DET_THRESHOLD, MIN_LINE_SCORE, REC_HEIGHT, REC_MAX_WIDTH, SPACE_GAP, REC_MIN_WIDTH, REC_WIDTH_MULTIPLE, UNCLIP_RATIO
} from './constants.js'
import { detInput, findTextBoxes, type DetSize, type TextBox } from './detect.js'
import { InvalidOcrOptionError, OcrBackendError } from './errors.js'
import { checkPage, type PageImage } from './image.js'
import { blankRuns, ctcDecode, insertSpaces, loadDictionary, recInput, recWidth } from './recognize.js'
import type { OcrBackend, OcrLine, OcrOptions, OcrResult } from './types.js'

/**
 * Reads the text of document pages with one det call for all pages and one
 * rec call for all lines.
 *
 * Det: every page is shrunk to fit `detSize` (aspect kept) and padded with
 * white to that one shape. DB post-processing (threshold, connected regions,
 * minimum-area rectangles, unclip) maps boxes back to page pixels. Rec: each
 * box is cropped from the full-resolution page (rotated boxes straightened),
 * scaled to height 48 with its aspect kept and padded to one width; the
 * output is CTC-greedy-decoded with the model's dictionary.
 *
 * @param pages - decoded pages ({@link loadPages}, {@link decodePages})
 * @param backend - where the two models run
 * @throws InvalidPageError for a page with no pixels or a wrong-sized buffer
 * @throws InvalidOcrOptionError for a det size not a multiple of 32 or unusable rec widths
 * @throws OcrBackendError if the backend's output is not the model's output for the batch
 */
export async function ocrPages (pages: PageImage[], backend: OcrBackend, options: OcrOptions = {}): Promise<OcrResult> {
  const t0 = performance.now()
  const detSize: DetSize = options.detSize ?? { height: DET_INPUT_HEIGHT, width: DET_INPUT_WIDTH }
  const recMinWidth = options.recMinWidth ?? REC_MIN_WIDTH
  const recMaxWidth = options.recMaxWidth ?? REC_MAX_WIDTH
  if (!Number.isSafeInteger(recMinWidth) || !Number.isSafeInteger(recMaxWidth) || recMinWidth < REC_WIDTH_MULTIPLE ||
      recMaxWidth < recMinWidth || recMaxWidth % REC_WIDTH_MULTIPLE !== 0) {
    throw new InvalidOcrOptionError(`rec widths ${recMinWidth}..${recMaxWidth} are not usable; give recMinWidth ≥ ${REC_WIDTH_MULTIPLE} and recMaxWidth ≥ recMinWidth, a multiple of ${REC_WIDTH_MULTIPLE}`)
  }
  pages.forEach(checkPage)
  const dictionary = await loadDictionary(options.dictionaryPath)
  const timings = { detPrepareMs: 0, detMs: 0, boxesMs: 0, recPrepareMs: 0, recMs: 0, decodeMs: 0, totalMs: 0 }
  const result: OcrResult = { pages: pages.map(p => ({ width: p.width, height: p.height, lines: [] })), detBatch: 0, recBatch: 0, detShape: [], recShape: [], dropped: 0, timings }
  if (pages.length === 0) return result

  // one det call for every page
  let t = performance.now()
  const { tensor: det, placements } = detInput(pages, detSize)
  result.detBatch = pages.length
  result.detShape = [...det.dims]
  timings.detPrepareMs = performance.now() - t
  t = performance.now()
  const detOut = single(await backend.det([det]), 'det', [pages.length, 1, detSize.height, detSize.width])
  timings.detMs = performance.now() - t

  t = performance.now()
  const crops: Array<{ page: PageImage, pageIndex: number, box: TextBox }> = []
  const plane = detSize.height * detSize.width
  pages.forEach((page, n) => {
    const boxes = findTextBoxes(detOut.data as Float32Array, n * plane, detSize.width, placements[n]!, page, {
      threshold: options.detThreshold ?? DET_THRESHOLD,
      boxThreshold: options.boxThreshold ?? BOX_THRESHOLD,
      unclipRatio: options.unclipRatio ?? UNCLIP_RATIO
    })
    for (const box of sortReadingOrder(boxes)) crops.push({ page, pageIndex: n, box })
  })
  timings.boxesMs = performance.now() - t
  if (crops.length === 0) {
    timings.totalMs = performance.now() - t0
    return result
  }

  // one rec call for every line of every page
  t = performance.now()
  const rec = recInput(crops, recMinWidth, recMaxWidth)
  result.recBatch = crops.length
  result.recShape = [...rec.dims]
  timings.recPrepareMs = performance.now() - t
  t = performance.now()
  const recOut = single(await backend.rec([rec]), 'rec', [crops.length, undefined, dictionary.length + 1])
  timings.recMs = performance.now() - t

  t = performance.now()
  const [, steps, classes] = recOut.dims as [number, number, number]
  const minScore = options.minScore ?? MIN_LINE_SCORE
  const spaceGap = options.spaceGap ?? SPACE_GAP
  const W = rec.dims[3]!
  crops.forEach(({ pageIndex, box }, m) => {
    const decoded = ctcDecode(recOut.data as Float32Array, m * steps * classes, steps, classes, dictionary)
    const { score } = decoded
    let text = decoded.text
    if (spaceGap > 0) {
      text = insertSpaces(text, decoded.at, blankRuns(rec.data as Float32Array, m, W, recWidth(box, recMaxWidth)), spaceGap * REC_HEIGHT, W / steps)
    }
    const trimmed = text.trim()
    if (trimmed === '' || score < minScore) {
      result.dropped++
      return
    }
    const line: OcrLine = { text: trimmed, score, box: box.points.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]) }
    result.pages[pageIndex]!.lines.push(line)
  })
  timings.decodeMs = performance.now() - t
  timings.totalMs = performance.now() - t0
  return result
}

/** The one float32 output of a model, checked against an expected shape (undefined: any size). */
function single (outputs: WireTensor[], model: string, expected: Array<number | undefined>): WireTensor {
  const out = outputs[0]
  const want = `[${expected.map(d => d ?? '*').join(', ')}]`
  if (outputs.length !== 1 || out == null) throw new OcrBackendError(`the ${model} backend returned ${outputs.length} outputs; it must return the model's one output, float32 ${want}`)
  if (out.dtype !== 'float32' || !(out.data instanceof Float32Array) || out.dims.length !== expected.length ||
      expected.some((d, i) => d != null && out.dims[i] !== d) || out.data.length !== out.dims.reduce((a, b) => a * b, 1)) {
    throw new OcrBackendError(`the ${model} backend returned ${out.dtype} [${out.dims.join(', ')}] with ${out.data.length} elements; expected float32 ${want} for this batch (is it running the PP-OCRv4 ${model} model on the whole batch?)`)
  }
  return out
}

/**
 * Reading order: top to bottom, and left to right within a row. Boxes whose
 * vertical centres are within half a line height of a row's first box join
 * that row.
 */
export function sortReadingOrder (boxes: TextBox[]): TextBox[] {
  const byY = [...boxes].sort((a, b) => a.center[1] - b.center[1])
  const rows: TextBox[][] = []
  for (const box of byY) {
    const row = rows[rows.length - 1]
    const head = row?.[0]
    if (row != null && head != null && Math.abs(box.center[1] - head.center[1]) < Math.min(box.height, head.height) / 2) row.push(box)
    else rows.push([box])
  }
  return rows.flatMap(row => row.sort((a, b) => a.center[0] - b.center[0]))
}
