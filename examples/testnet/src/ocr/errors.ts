/**
 * Typed errors of the OCR demo. Each has a stable `name` and `code`; branch
 * on those, not on `instanceof`.
 */
import { FleetmeshError } from '@fleetmesh/protocol'

/** A page image file could not be read or decoded. */
export class ImageReadError extends FleetmeshError {
  override readonly name = 'ImageReadError'
  readonly code = 'ERR_OCR_IMAGE_READ'
  /** the file (or `bytes[i]` for in-memory images) that failed */
  readonly file: string

  constructor (file: string, reason: string) {
    super(`cannot read page image ${file}: ${reason}; pass a readable PNG or JPEG image`)
    this.file = file
  }
}

/** A page image has no pixels, or a pixel buffer that does not match its size. */
export class InvalidPageError extends FleetmeshError {
  override readonly name = 'InvalidPageError'
  readonly code = 'ERR_OCR_INVALID_PAGE'
}

/** A line of text is wider than the rendered page, or the lines are taller than it. */
export class PageOverflowError extends FleetmeshError {
  override readonly name = 'PageOverflowError'
  readonly code = 'ERR_OCR_PAGE_OVERFLOW'
}

/** An OCR backend returned outputs of the wrong number, type or shape. */
export class OcrBackendError extends FleetmeshError {
  override readonly name = 'OcrBackendError'
  readonly code = 'ERR_OCR_BACKEND_OUTPUT'
}

/** An option is out of range (e.g. a det size that is not a positive multiple of 32). */
export class InvalidOcrOptionError extends FleetmeshError {
  override readonly name = 'InvalidOcrOptionError'
  readonly code = 'ERR_OCR_INVALID_OPTION'
}
