/** Height in pixels of the det model's fixed input (every page is scaled and padded to it); a multiple of 32. */
export const DET_INPUT_HEIGHT = 960

/** Width in pixels of the det model's fixed input; a multiple of 32 (portrait, about an A-series page). */
export const DET_INPUT_WIDTH = 672

/** Shape of one page of det input, `[channels, height, width]`; a det batch is `[N, ...DET_INPUT_SHAPE]`. */
export const DET_INPUT_SHAPE: readonly [3, number, number] = [3, DET_INPUT_HEIGHT, DET_INPUT_WIDTH]

/** Input name of the PP-OCRv4 det and rec models. */
export const MODEL_INPUT_NAME = 'x'

/** PaddleOCR det normalisation, applied to the B, G, R planes in that order (PaddleOCR reads BGR). */
export const DET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406]
/** See {@link DET_MEAN}. */
export const DET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225]

/** A det pixel is text where its probability is above this (PaddleOCR `det_db_thresh`). */
export const DET_THRESHOLD = 0.3

/** A text region is kept where its mean probability is at least this (PaddleOCR `det_db_box_thresh`). */
export const BOX_THRESHOLD = 0.6

/** How far a region's box is grown: by area × ratio / perimeter on each side (PaddleOCR `det_db_unclip_ratio`). */
export const UNCLIP_RATIO = 1.5

/** Regions whose shorter side is below this many det pixels are dropped (PaddleOCR `min_size`). */
export const MIN_BOX_SIDE = 3

/** Height in pixels of a rec line image. */
export const REC_HEIGHT = 48

/** Narrowest rec batch width in pixels (PaddleOCR's 3×48×320). */
export const REC_MIN_WIDTH = 320

/** Widest rec batch width in pixels; longer lines are squeezed to it. */
export const REC_MAX_WIDTH = 1600

/** The rec batch width is rounded up to a multiple of this. */
export const REC_WIDTH_MULTIPLE = 8

/**
 * A blank gap in a line image at least this many line heights wide is a
 * word space; 0 turns space recovery off. DejaVu Sans word gaps are about
 * 0.4 line heights, letter gaps under 0.15.
 */
export const SPACE_GAP = 0.25

/** Lines whose mean character probability is below this are dropped (PaddleOCR `drop_score`). */
export const MIN_LINE_SCORE = 0.5

/** Default page size of rendered pages in pixels: A5 portrait at about 115 dpi. */
export const PAGE_WIDTH = 672
/** See {@link PAGE_WIDTH}. */
export const PAGE_HEIGHT = 950

/** Default font size of rendered pages in pixels. */
export const FONT_SIZE = 20

/** Default baseline-to-baseline distance of rendered lines, in pixels. */
export const LINE_HEIGHT = 40

/** Default page margin of rendered pages, in pixels. */
export const PAGE_MARGIN = 48
