import assert from 'node:assert/strict'
import { createSampler, topK } from '../src/index.js'

/** A logits row from a fixed pattern: distinct values, no ties. */
function pattern (n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + phase) * 3)
}

describe('token samplers (pure)', () => {
  it('greedy picks the argmax, the lowest id among equal logits, and never NaN', () => {
    const greedy = createSampler({ kind: 'greedy' })
    assert.equal(greedy.next(Float32Array.of(0.1, 2, -1, 1.5)), 1)
    assert.equal(greedy.next(Float32Array.of(3, 1, 3)), 0)
    assert.equal(greedy.next(Float32Array.of(Number.NaN, -5, -2)), 2)
  })

  it('topK lists the k highest, highest first, ties by lower id', () => {
    assert.deepEqual(topK(Float32Array.of(1, 5, 3, 5, 2), 3), [1, 3, 2])
    assert.deepEqual(topK(Float32Array.of(1, 2), 5), [1, 0])
  })

  it('top-k with the same seed draws the same tokens; another seed draws others; k = 1 is greedy', () => {
    const rows = Array.from({ length: 200 }, (_, i) => pattern(64, i))
    const draw = (seed: number, k = 8): number[] => { const s = createSampler({ kind: 'top-k', k, seed }); return rows.map(r => s.next(r)) }
    assert.deepEqual(draw(7), draw(7), 'same seed, same draws')
    assert.notDeepEqual(draw(7), draw(8), 'another seed, other draws')
    const greedy = createSampler({ kind: 'greedy' })
    assert.deepEqual(draw(3, 1), rows.map(r => greedy.next(r)), 'k = 1 is the argmax')
    for (const [i, t] of draw(11).entries()) assert.ok(topK(rows[i] as Float32Array, 8).includes(t), `draw ${i} (${t}) is one of the 8 highest logits`)
  })

  it('top-k draws each of the k tokens about as often as softmax(logit / temperature) says', () => {
    const logits = Float32Array.of(2, 1, 0, -1, 5, -3) // top 3: ids 4, 0, 1
    for (const temperature of [1, 2]) {
      const sampler = createSampler({ kind: 'top-k', k: 3, seed: 42, temperature })
      const counts = new Map<number, number>()
      const n = 20_000
      for (let i = 0; i < n; i++) { const t = sampler.next(logits); counts.set(t, (counts.get(t) ?? 0) + 1) }
      assert.deepEqual([...counts.keys()].sort(), [0, 1, 4], `temperature ${temperature}: only the top 3 are drawn`)
      const w = [5, 2, 1].map(l => Math.exp(l / temperature))
      const total = w.reduce((a, b) => a + b, 0)
      for (const [j, id] of [4, 0, 1].entries()) {
        const expected = (w[j] as number) / total
        const got = (counts.get(id) ?? 0) / n
        assert.ok(Math.abs(got - expected) < 0.02, `temperature ${temperature}: token ${id} drawn ${got.toFixed(3)} of the time, softmax says ${expected.toFixed(3)}`)
      }
    }
  })

  it('refuses bad specs and empty rows with SamplerError', () => {
    for (const spec of [{ kind: 'top-k', k: 0, seed: 1 }, { kind: 'top-k', k: 2.5, seed: 1 }, { kind: 'top-k', k: 2, seed: 0.5 }, { kind: 'top-k', k: 2, seed: 1, temperature: 0 }, { kind: 'nucleus' }]) {
      assert.throws(() => createSampler(spec as any), (err: any) => err.name === 'SamplerError' && err.code === 'ERR_SAMPLER', `refuses ${JSON.stringify(spec)}`)
    }
    assert.throws(() => createSampler({ kind: 'greedy' }).next(new Float32Array(0)), (err: any) => err.name === 'SamplerError')
  })
})
