import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { runNode } from '@fleetmesh/test-utils'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The first ```js block of a README. */
async function firstJsBlock (readme: string): Promise<string> {
  const text = await readFile(new URL(readme, `file://${ROOT}`), 'utf8')
  const m = /```js\n([\s\S]*?)```/.exec(text)
  assert.ok(m?.[1] != null, `${readme} has a js example`)
  return m[1]
}

/** Runs code as an ES module from the repository root (so workspace packages resolve). */
async function run (name: string, code: string, timeoutMs: number): Promise<{ code: number | null, out: string }> {
  const file = `${ROOT}.readme-example-${name}.mjs`
  await writeFile(file, code)
  try {
    return await runNode(file, [], { timeoutMs, cwd: ROOT })
  } finally {
    await rm(file, { force: true })
  }
}

describe('README examples run as written', function () {
  this.timeout(60_000)

  it('packages/protocol/README.md', async () => {
    const { code, out } = await run('protocol', await firstJsBlock('packages/protocol/README.md'), 30_000)
    assert.equal(code, 0, out)
    assert.match(out, /^vehicle u33d \d+ bytes$/m)
    assert.match(out, /UnknownAuthorityError ERR_UNKNOWN_AUTHORITY/)
  })

  it('packages/runtime/README.md', async () => {
    const { code, out } = await run('runtime', await firstJsBlock('packages/runtime/README.md'), 30_000)
    assert.equal(code, 0, out)
    assert.match(out, /^bafkrei\w+ \[/m)
    assert.match(out, /max abs diff \d/)
    const diff = Number(/max abs diff (\S+)/.exec(out)?.[1])
    assert.ok(diff <= 1e-4, `chained stages equal the whole model: ${diff}`)
  })

  it('packages/peer/README.md', async () => {
    const { code, out } = await run('peer', await firstJsBlock('packages/peer/README.md'), 30_000)
    assert.equal(code, 0, out)
    assert.match(out, /station u33d 12D3KooW\w+ rtt \d+ ms/)
  })

  it('packages/sim/README.md', async () => {
    const { code, out } = await run('sim', await firstJsBlock('packages/sim/README.md'), 45_000)
    assert.equal(code, 0, out)
    assert.match(out, /^jobs \d+, unplaced 0, offer reach 1$/m)
    assert.match(out, /^receipts converged: true$/m)
  })

  it('packages/market/README.md', async () => {
    const { code, out } = await run('market', await firstJsBlock('packages/market/README.md'), 45_000)
    assert.equal(code, 0, out)
    assert.match(out, /job bidding[\s\S]*job awarding[\s\S]*job running[\s\S]*job completed/)
    assert.match(out, /^shard 0 at 0\.5\/unit$/m)
    assert.match(out, /^shard 1 at 0\.8\/unit$/m)
  })

  it('packages/ledger/README.md', async () => {
    const { code, out } = await run('ledger', await firstJsBlock('packages/ledger/README.md'), 45_000)
    assert.equal(code, 0, out)
    assert.match(out, /^countersigned [0-9a-f]{16} 100 units at 0\.5$/m)
    assert.match(out, /^worker holds 1 receipt\(s\) after reconciliation, \d+ bytes$/m)
    assert.equal(out.match(/^balances 50 -50 50$/gm)?.length, 2, out)
    assert.match(out, /^reputation 1$/m)
  })

  it('packages/inference/README.md', async () => {
    const { code, out } = await run('inference', await firstJsBlock('packages/inference/README.md'), 45_000)
    assert.equal(code, 0, out)
    const diffs = [...out.matchAll(/^(y \[12,8\]|state_out \[4,12,16\]) max abs diff (\S+)$/gm)]
    assert.equal(diffs.length, 2, out)
    for (const d of diffs) assert.ok(Number(d[2]) <= 1e-5, d[0])
  })

  it('README.md (embedding)', async () => {
    const { code, out } = await run('root', await firstJsBlock('README.md'), 50_000)
    assert.equal(code, 0, out)
    assert.match(out, /^awarded$/m)
    assert.match(out, /^done$/m)
    assert.match(out, /^output 8x4$/m)
    // 8 items in micro-batches of 2: one paid receipt per micro-batch
    assert.match(out, /^countersigned receipts 4$/m)
    assert.match(out, /^station earned [1-9][\d.]* same on both nodes true$/m)
  })
})
