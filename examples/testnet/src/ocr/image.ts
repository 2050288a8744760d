import { readFile } from 'node:fs/promises'
import { createCanvas, loadImage } from '@napi-rs/canvas'
import { ImageReadError, InvalidPageError } from './errors.js'

/** A decoded page image: 8-bit RGBA pixels, row-major, 4 bytes a pixel. */
export interface PageImage {
  /** width, pixels */
  width: number
  /** height, pixels */
  height: number
  /** `width × height × 4` bytes: R, G, B, A of each pixel, rows top to bottom */
  data: Uint8Array | Uint8ClampedArray
  /** where the page came from (a file path), for messages */
  name?: string
}

/**
 * Decodes PNG or JPEG bytes into RGBA pixels. Transparent pixels are
 * composited onto white paper.
 *
 * @throws ImageReadError if the bytes are not an image the decoder knows
 */
export async function decodeImage (bytes: Uint8Array, name = 'image bytes'): Promise<PageImage> {
  let image
  try {
    image = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } catch (err: any) {
    throw new ImageReadError(name, `not a decodable image (${String(err?.message ?? err)})`)
  }
  const { width, height } = image
  if (width < 1 || height < 1) throw new ImageReadError(name, `decoded to an empty ${width}×${height} image`)
  const canvas = createCanvas(width, height)
  const ctx = canvas.getContext('2d')
  ctx.fillStyle = '#ffffff'
  ctx.fillRect(0, 0, width, height)
  ctx.drawImage(image, 0, 0)
  return { width, height, data: ctx.getImageData(0, 0, width, height).data, name }
}

/**
 * Reads page images from PNG or JPEG files.
 *
 * @param files - paths of the image files, one page each
 * @returns the pages in the order of `files`
 * @throws ImageReadError naming the first file that is missing or not an image
 */
export async function loadPages (files: string[]): Promise<PageImage[]> {
  const pages: PageImage[] = []
  for (const file of files) {
    let bytes: Uint8Array
    try {
      bytes = await readFile(file)
    } catch (err: any) {
      throw new ImageReadError(file, String(err?.code ?? err?.message ?? err))
    }
    pages.push(await decodeImage(bytes, file))
  }
  return pages
}

/**
 * Decodes in-memory PNG or JPEG images (e.g. {@link RenderedPage.png}).
 *
 * @throws ImageReadError naming the index of the first image that is not decodable
 */
export async function decodePages (images: Uint8Array[]): Promise<PageImage[]> {
  return Promise.all(images.map(async (bytes, i) => decodeImage(bytes, `images[${i}]`)))
}

/** @throws InvalidPageError if a page has no pixels or a buffer of the wrong size */
export function checkPage (page: PageImage, index: number): void {
  const label = page.name ?? `pages[${index}]`
  if (!Number.isSafeInteger(page.width) || !Number.isSafeInteger(page.height) || page.width < 1 || page.height < 1) {
    throw new InvalidPageError(`page ${label} is ${page.width}×${page.height}; a page needs at least one pixel`)
  }
  if (page.data.length !== page.width * page.height * 4) {
    throw new InvalidPageError(`page ${label} is ${page.width}×${page.height} but has ${page.data.length} bytes, not ${page.width * page.height * 4} (RGBA); decode it with loadPages or decodePages`)
  }
}

/**
 * An affine map from a grid of output pixels into page coordinates: output
 * pixel (x, y) covers the parallelogram `origin + s·u + t·v` for s in
 * [x, x+1), t in [y, y+1). Units are page pixels; (0, 0) is the top-left
 * corner of the top-left page pixel.
 */
export interface SampleGrid {
  origin: readonly [number, number]
  u: readonly [number, number]
  v: readonly [number, number]
  /** output width and height, pixels */
  width: number
  height: number
}

/**
 * Samples a page on a grid into three float planes (B, G, R, PaddleOCR's
 * order), each value `(byte / 255 − mean[c]) / std[c]`. Bilinear, with
 * `ss × ss` supersampling per output pixel when the grid shrinks the page.
 * Points off the page read as white paper.
 *
 * @param out - destination tensor data
 * @param offset - index of the output's top-left pixel in plane 0
 * @param rowStride - elements between rows of a plane
 * @param planeStride - elements between planes
 */
export function samplePlanes (page: PageImage, grid: SampleGrid, out: Float32Array, offset: number, rowStride: number, planeStride: number,
  mean: readonly number[], std: readonly number[]): void {
  const { width: pw, height: ph, data } = page
  const scale = Math.max(Math.hypot(grid.u[0], grid.u[1]), Math.hypot(grid.v[0], grid.v[1]))
  const ss = Math.min(4, Math.max(1, Math.ceil(scale - 1e-6)))
  const n = ss * ss
  const a = new Float64Array(3)
  const k = [1 / 255 / std[0]!, 1 / 255 / std[1]!, 1 / 255 / std[2]!]
  const b = [mean[0]! / std[0]!, mean[1]! / std[1]!, mean[2]! / std[2]!]
  const [ux, uy] = grid.u
  const [vx, vy] = grid.v
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      a[0] = 0; a[1] = 0; a[2] = 0
      for (let j = 0; j < ss; j++) {
        const t = y + (j + 0.5) / ss
        for (let i = 0; i < ss; i++) {
          const s = x + (i + 0.5) / ss
          // pixel centres sit at half-integers
          const px = grid.origin[0] + s * ux + t * vx - 0.5
          const py = grid.origin[1] + s * uy + t * vy - 0.5
          const x0 = Math.floor(px)
          const y0 = Math.floor(py)
          const fx = px - x0
          const fy = py - y0
          for (let q = 0; q < 4; q++) {
            const xx = x0 + (q & 1)
            const yy = y0 + (q >> 1)
            const w = ((q & 1) === 1 ? fx : 1 - fx) * ((q >> 1) === 1 ? fy : 1 - fy)
            if (w === 0) continue
            if (xx < 0 || yy < 0 || xx >= pw || yy >= ph) {
              a[0] += 255 * w; a[1] += 255 * w; a[2] += 255 * w
            } else {
              const p = (yy * pw + xx) * 4
              // B, G, R
              a[0] += data[p + 2]! * w; a[1] += data[p + 1]! * w; a[2] += data[p]! * w
            }
          }
        }
      }
      const o = offset + y * rowStride + x
      out[o] = a[0] / n * k[0]! - b[0]!
      out[o + planeStride] = a[1] / n * k[1]! - b[1]!
      out[o + 2 * planeStride] = a[2] / n * k[2]! - b[2]!
    }
  }
}
