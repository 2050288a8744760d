import assert from 'node:assert/strict'
import { LocalSession, maxAbsDiff, runStagesLocally, validateModel } from '../../src/index.js'
import type { Partition, Stage } from '../../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

/** Runs a whole model once in this process. */
export async function wholeModel (bytes: Uint8Array, inputs: WireTensor[]): Promise<WireTensor[]> {
  const s = await LocalSession.create(bytes)
  try { return await s.run(inputs) } finally { await s.release() }
}

/**
 * Structural properties every partition must have: K non-empty stages that
 * are valid models on their own, every compute node in one stage, each
 * stage's inputs split into activations (exactly the previous stage's
 * outputs) and graph inputs (read from the requester, never passed through
 * a stage), and the model's outputs from the last stage.
 */
export function checkStructure (label: string, p: Partition, K: number, graphInputs: string[], graphOutputs: string[], totalNodes: number): void {
  assert.equal(p.stages.length, K, `${label}: ${K} stages`)
  assert.equal(p.stages.reduce((a, s) => a + s.nodeCount, 0), totalNodes, `${label}: every compute node in exactly one stage`)
  for (const s of p.stages) {
    assert.ok(s.nodeCount > 0, `${label}: stage ${s.index} is not empty`)
    const info = validateModel(s.bytes) // each stage is a valid, safe ONNX model on its own
    assert.deepEqual(info.inputs.map(i => i.name).sort(), [...s.inputs].sort(), `${label}: stage ${s.index} declares its inputs`)
    const prev = s.index > 0 ? (p.stages[s.index - 1]?.outputs ?? []) : []
    assert.deepEqual(s.inputs, [...s.activations, ...s.graphInputs], `${label}: stage ${s.index} inputs are its activations, then its graph inputs`)
    assert.deepEqual([...s.activations].sort(), [...prev].sort(), `${label}: stage ${s.index} reads every output of stage ${s.index - 1} as an activation`)
    for (const name of s.graphInputs) assert.ok(graphInputs.includes(name), `${label}: stage ${s.index} graph input ${name} is one of the model's`)
    if (s.index < K - 1) {
      for (const name of s.outputs) assert.ok(!graphInputs.includes(name), `${label}: stage ${s.index} does not pass the graph input ${name} through`)
    }
  }
  assert.deepEqual([...(p.stages.at(-1)?.outputs ?? [])].sort(), [...graphOutputs].sort(), `${label}: the last stage gives the model's outputs`)
  assert.ok(p.bottleneckShare >= 1 / K - 1e-9 && p.bottleneckShare <= 1, `${label}: bottleneck share ${p.bottleneckShare}`)
}

/** Asserts that the stages' outputs equal the whole model's (`expected`): same names and shapes, values within `tolerance`. */
export function assertOutputsEqual (label: string, got: WireTensor[], expected: WireTensor[], tolerance = 1e-4): void {
  for (const e of expected) {
    const g = got.find(t => t.name === e.name)
    assert.ok(g != null, `${label}: output ${e.name} is produced`)
    assert.deepEqual(g.dims, e.dims, `${label}: output ${e.name} has the whole model's shape`)
    const d = maxAbsDiff(g, e)
    assert.ok(d <= tolerance, `${label}: output ${e.name} max abs diff ${d}`)
  }
}

/** Runs the stages chained and the whole model on the same inputs; asserts every output agrees within `tolerance`. */
export async function assertStagesEqualWhole (label: string, bytes: Uint8Array, stages: Stage[], inputs: WireTensor[], tolerance = 1e-4): Promise<void> {
  assertOutputsEqual(label, await runStagesLocally(stages, inputs), await wholeModel(bytes, inputs), tolerance)
}

/** The declared dims of a stage model's inputs or outputs: numbers, or the dim_param name where symbolic. */
export function declaredDims (stageBytes: Uint8Array, side: 'inputs' | 'outputs'): Map<string, Array<number | string | null>> {
  return new Map(validateModel(stageBytes)[side].map(t => [t.name, t.shape]))
}
