import { createRequire } from 'node:module'
import { GlobalFonts, createCanvas } from '@napi-rs/canvas'
import { FONT_SIZE, LINE_HEIGHT, PAGE_HEIGHT, PAGE_MARGIN, PAGE_WIDTH } from './constants.js'
import { PageOverflowError } from './errors.js'
import type { RenderedPage, RenderOptions } from './types.js'

const FONT_FAMILY = 'DejaVu Sans'
let fontRegistered = false

function registerFont (): void {
  if (fontRegistered) return
  const path = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf')
  if (GlobalFonts.registerFromPath(path, FONT_FAMILY) == null) throw new Error(`could not register the font ${path}`)
  fontRegistered = true
}

/**
 * Draws lines of known text onto white pages with a real font (DejaVu Sans
 * from `dejavu-fonts-ttf`), one line per row from the top-left margin, and
 * encodes each page as PNG. The defaults give an A5-like 672×950 px page
 * with 20 px text — ground truth for OCR accuracy checks.
 *
 * @param pages - each page's lines, top to bottom (no newlines inside a line)
 * @throws PageOverflowError if a line is wider than the space between the margins or the lines are taller than the page
 */
export async function renderPages (pages: string[][], options: RenderOptions = {}): Promise<RenderedPage[]> {
  registerFont()
  const width = options.width ?? PAGE_WIDTH
  const height = options.height ?? PAGE_HEIGHT
  const fontSize = options.fontSize ?? FONT_SIZE
  const lineHeight = options.lineHeight ?? LINE_HEIGHT
  const margin = options.margin ?? PAGE_MARGIN
  const out: RenderedPage[] = []
  for (const [p, lines] of pages.entries()) {
    const canvas = createCanvas(width, height)
    const ctx = canvas.getContext('2d')
    ctx.fillStyle = '#ffffff'
    ctx.fillRect(0, 0, width, height)
    if (options.skewDegrees != null && options.skewDegrees !== 0) {
      ctx.translate(width / 2, height / 2)
      ctx.rotate(options.skewDegrees * Math.PI / 180)
      ctx.translate(-width / 2, -height / 2)
    }
    ctx.fillStyle = '#1a1a1a'
    ctx.font = `${fontSize}px "${FONT_FAMILY}"`
    ctx.textBaseline = 'alphabetic'
    const bottom = margin + fontSize + (lines.length - 1) * lineHeight
    if (bottom > height - margin) {
      throw new PageOverflowError(`page ${p} has ${lines.length} lines, ${bottom} px tall with margins ${margin} px, over the page height ${height} px; use fewer lines, a smaller lineHeight or a taller page`)
    }
    for (const [i, line] of lines.entries()) {
      if (line.includes('\n')) throw new PageOverflowError(`page ${p} line ${i} contains a newline; give each line as its own string`)
      const w = ctx.measureText(line).width
      if (w > width - 2 * margin) {
        throw new PageOverflowError(`page ${p} line ${i} "${line}" is ${Math.ceil(w)} px wide, over the ${width - 2 * margin} px between the margins; shorten it, use a smaller fontSize or a wider page`)
      }
      ctx.fillText(line, margin, margin + fontSize + i * lineHeight)
    }
    const png = await canvas.encode('png')
    out.push({ png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width, height, text: [...lines] })
  }
  return out
}
