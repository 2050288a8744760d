/**
 * Det side of the pipeline: pages → one fixed-shape batch, and the DB
 * post-processing (threshold, connected regions, minimum-area rectangles,
 * unclip) that turns the probability maps back into page boxes.
 *
 * The geometry is plain TypeScript rather than `@gutenye/ocr-common`'s
 * `splitIntoLineImages`: that works on one image at a time through
 * opencv.js, never frees its per-box Mats, and returns crops as views into
 * the wasm heap that go stale once the heap grows — fine for one photo,
 * not for a batch service. The algorithm and constants are PaddleOCR's.
 */
import type { WireTensor } from '@fleetmesh/protocol'
import { DET_INPUT_HEIGHT, DET_INPUT_WIDTH, DET_MEAN, DET_STD, MIN_BOX_SIDE, MODEL_INPUT_NAME } from './constants.js'
import { InvalidOcrOptionError } from './errors.js'
import { samplePlanes, type PageImage } from './image.js'

/** Height and width in pixels of the det input; multiples of 32. */
export interface DetSize {
  height: number
  width: number
}

/** Where a page sits in its slot of the det batch: scaled by `scale` from the top-left corner, the rest is white padding. */
export interface DetPlacement {
  /** det pixels per page pixel (≤ 1: pages are shrunk to fit, never enlarged) */
  scale: number
  /** det pixels covered by the page */
  width: number
  height: number
}

/** A text box on a page: a rectangle, possibly rotated, in page pixels. */
export interface TextBox {
  /** corners clockwise from the top-left of the text, page pixels (clamped to the page) */
  points: Array<[number, number]>
  /** centre, page pixels */
  center: [number, number]
  /** unit vector along the text (reading direction) */
  u: [number, number]
  /** unit vector across the text, top to bottom of the glyphs */
  v: [number, number]
  /** extent along `u` and `v`, page pixels */
  width: number
  height: number
  /** mean det probability of the region, 0..1 */
  score: number
}

/** @throws InvalidOcrOptionError unless both sides are positive multiples of 32 */
export function checkDetSize (size: DetSize): void {
  for (const side of [size.height, size.width]) {
    if (!Number.isSafeInteger(side) || side < 32 || side % 32 !== 0) {
      throw new InvalidOcrOptionError(`det input size ${size.height}×${size.width} is not made of positive multiples of 32; use e.g. ${DET_INPUT_HEIGHT}×${DET_INPUT_WIDTH}`)
    }
  }
}

/** How a page of `width × height` is placed in a det slot of `size`. */
export function detPlacement (width: number, height: number, size: DetSize): DetPlacement {
  const scale = Math.min(1, size.width / width, size.height / height)
  return { scale, width: Math.min(size.width, Math.round(width * scale)), height: Math.min(size.height, Math.round(height * scale)) }
}

/**
 * Builds the det batch: every page scaled (down only, aspect kept) into
 * the top-left of a `size` slot padded with white paper, normalised as
 * PaddleOCR does, B, G, R planes.
 *
 * @returns the `[N, 3, height, width]` float32 tensor named `x`, and each page's placement
 */
export function detInput (pages: PageImage[], size: DetSize = { height: DET_INPUT_HEIGHT, width: DET_INPUT_WIDTH }): { tensor: WireTensor, placements: DetPlacement[] } {
  checkDetSize(size)
  const { height: H, width: W } = size
  const plane = H * W
  const data = new Float32Array(pages.length * 3 * plane)
  // white padding
  for (let c = 0; c < 3; c++) data.fill((1 - DET_MEAN[c]!) / DET_STD[c]!, c * plane, (c + 1) * plane)
  for (let n = 1; n < pages.length; n++) data.copyWithin(n * 3 * plane, 0, 3 * plane)
  const placements = pages.map((page, n) => {
    const p = detPlacement(page.width, page.height, size)
    samplePlanes(page, {
      origin: [0, 0],
      u: [page.width / p.width, 0],
      v: [0, page.height / p.height],
      width: p.width,
      height: p.height
    }, data, n * 3 * plane, W, plane, DET_MEAN, DET_STD)
    return p
  })
  return { tensor: { name: MODEL_INPUT_NAME, dtype: 'float32', dims: [pages.length, 3, H, W], data }, placements }
}

/**
 * A det input of `batch` blank white pages, for planning and partitioning
 * the det model (`[batch, 3, height, width]` float32 named `x`).
 */
export function detSampleInput (batch = 1, size: DetSize = { height: DET_INPUT_HEIGHT, width: DET_INPUT_WIDTH }): WireTensor {
  const blank: PageImage = { width: size.width, height: size.height, data: new Uint8ClampedArray(size.width * size.height * 4).fill(255) }
  return detInput(new Array<PageImage>(batch).fill(blank), size).tensor
}

/** Options of {@link findTextBoxes}. */
export interface BoxOptions {
  /** probability above which a pixel is text */
  threshold: number
  /** minimum mean probability of a region */
  boxThreshold: number
  /** unclip ratio */
  unclipRatio: number
}

/**
 * DB post-processing of one page's probability map.
 *
 * @param prob - det output data (`[N, 1, H, W]`)
 * @param offset - index of this page's map in `prob`
 * @param stride - `W`, elements between rows
 * @param placement - where the page sits in the map; only that region is searched
 * @param page - page size, to map boxes back to page pixels
 */
export function findTextBoxes (prob: Float32Array, offset: number, stride: number, placement: DetPlacement,
  page: { width: number, height: number }, options: BoxOptions): TextBox[] {
  const { width: w, height: h } = placement
  const labels = new Int32Array(w * h)
  const stack: number[] = []
  const boxes: TextBox[] = []
  let label = 0
  for (let start = 0; start < w * h; start++) {
    if (labels[start] !== 0 || !(prob[offset + Math.floor(start / w) * stride + (start % w)]! > options.threshold)) continue
    label++
    labels[start] = label
    stack.push(start)
    let count = 0
    let sum = 0
    // leftmost and rightmost pixel of each row of the region: enough for its convex hull
    const rows = new Map<number, [number, number]>()
    while (stack.length > 0) {
      const i = stack.pop()!
      const x = i % w
      const y = (i - x) / w
      count++
      sum += prob[offset + y * stride + x]!
      const r = rows.get(y)
      if (r == null) rows.set(y, [x, x])
      else { if (x < r[0]) r[0] = x; if (x > r[1]) r[1] = x }
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy
        if (yy < 0 || yy >= h) continue
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx
          if (xx < 0 || xx >= w) continue
          const j = yy * w + xx
          if (labels[j] !== 0 || !(prob[offset + yy * stride + xx]! > options.threshold)) continue
          labels[j] = label
          stack.push(j)
        }
      }
    }
    const score = sum / count
    if (score < options.boxThreshold) continue
    const pts: Array<[number, number]> = []
    for (const [y, [x0, x1]] of rows) {
      pts.push([x0 + 0.5, y + 0.5])
      if (x1 !== x0) pts.push([x1 + 0.5, y + 0.5])
    }
    const rect = minAreaRect(convexHull(pts))
    if (Math.min(rect.width, rect.height) < MIN_BOX_SIDE) continue
    // unclip: grow every side by area × ratio / perimeter (PaddleOCR's offset of a rectangle)
    const d = rect.width * rect.height * options.unclipRatio / (2 * (rect.width + rect.height))
    rect.width += 2 * d
    rect.height += 2 * d
    if (Math.min(rect.width, rect.height) < MIN_BOX_SIDE + 2) continue
    boxes.push(toPageBox(rect, placement, page, score))
  }
  return boxes
}

interface Rect { center: [number, number], u: [number, number], v: [number, number], width: number, height: number }

function toPageBox (rect: Rect, placement: DetPlacement, page: { width: number, height: number }, score: number): TextBox {
  const sx = page.width / placement.width
  const sy = page.height / placement.height
  // scale both axes of the rectangle (sx ≈ sy: the aspect is kept up to rounding)
  const center: [number, number] = [rect.center[0] * sx, rect.center[1] * sy]
  const uw: [number, number] = [rect.u[0] * rect.width * sx, rect.u[1] * rect.width * sy]
  const vh: [number, number] = [rect.v[0] * rect.height * sx, rect.v[1] * rect.height * sy]
  let width = Math.hypot(uw[0], uw[1])
  let height = Math.hypot(vh[0], vh[1])
  let u: [number, number] = [uw[0] / width, uw[1] / width]
  let v: [number, number] = [vh[0] / height, vh[1] / height]
  if (height >= 1.5 * width) {
    // vertical text, read top to bottom (PaddleOCR turns such crops a quarter left)
    [u, v] = [v, [-u[0], -u[1]]];
    [width, height] = [height, width]
  }
  const corner = (a: number, b: number): [number, number] => [
    Math.min(page.width, Math.max(0, center[0] + (a * width * u[0] + b * height * v[0]) / 2)),
    Math.min(page.height, Math.max(0, center[1] + (a * width * u[1] + b * height * v[1]) / 2))
  ]
  return { points: [corner(-1, -1), corner(1, -1), corner(1, 1), corner(-1, 1)], center, u, v, width, height, score }
}

/** Convex hull, counter-clockwise in y-down coordinates (Andrew's monotone chain). */
export function convexHull (points: Array<[number, number]>): Array<[number, number]> {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  if (p.length < 3) return p
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
  const lower: Array<[number, number]> = []
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop()
    lower.push(q)
  }
  const upper: Array<[number, number]> = []
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop()
    upper.push(q)
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1))
}

/**
 * Minimum-area enclosing rectangle of a convex polygon (one side lies on a
 * hull edge). `u` is the side closest to horizontal, pointing right; `v`
 * is perpendicular, pointing down.
 */
export function minAreaRect (hull: Array<[number, number]>): Rect {
  const first = hull[0] ?? [0, 0]
  let best: Rect = { center: [first[0], first[1]], u: [1, 0], v: [0, 1], width: 0, height: 0 }
  let bestArea = Number.POSITIVE_INFINITY
  const dirs: Array<[number, number]> = [[1, 0]]
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!
    const b = hull[(i + 1) % hull.length]!
    const len = Math.hypot(b[0] - a[0], b[1] - a[1])
    if (len > 0) dirs.push([(b[0] - a[0]) / len, (b[1] - a[1]) / len])
  }
  for (const d of dirs) {
    // the side of the rectangle closest to horizontal, pointing right
    let u: [number, number] = Math.abs(d[0]) >= Math.abs(d[1]) ? [d[0], d[1]] : [d[1], -d[0]]
    if (u[0] < 0) u = [-u[0], -u[1]]
    const v: [number, number] = [-u[1], u[0]]
    let minU = Number.POSITIVE_INFINITY; let maxU = Number.NEGATIVE_INFINITY
    let minV = Number.POSITIVE_INFINITY; let maxV = Number.NEGATIVE_INFINITY
    for (const p of hull) {
      const pu = p[0] * u[0] + p[1] * u[1]
      const pv = p[0] * v[0] + p[1] * v[1]
      if (pu < minU) minU = pu
      if (pu > maxU) maxU = pu
      if (pv < minV) minV = pv
      if (pv > maxV) maxV = pv
    }
    const area = (maxU - minU) * (maxV - minV)
    if (area < bestArea - 1e-9) {
      bestArea = area
      const cu = (minU + maxU) / 2
      const cv = (minV + maxV) / 2
      best = { center: [cu * u[0] + cv * v[0], cu * u[1] + cv * v[1]], u, v, width: maxU - minU, height: maxV - minV }
    }
  }
  return best
}
