import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runNode } from './utils/run-node.js'

const MAIN = fileURLToPath(new URL('../../examples/testnet/dist/main.js', import.meta.url))

/** Runs the testnet example as a user would and collects its output. */
async function runTestnet (args: string[], timeoutMs: number): Promise<{ code: number | null, out: string }> {
  return runNode(MAIN, args, timeoutMs)
}

describe('examples/testnet (separate processes)', function () {
  this.timeout(120_000)

  it('starts stations and vehicles as processes, prints the peer table and stations nearest first, and leaves nothing behind', async () => {
    const { code, out } = await runTestnet(['--stations', '2', '--vehicles', '3', '--regions', 'u33d,u33e'], 100_000)
    assert.equal(code, 0, `exit code 0; output:\n${out}`)
    assert.match(out, /all 5 nodes admitted and announced/)
    const root = /data in (\S+)\)/.exec(out)?.[1]
    assert.ok(root != null, 'the testnet names its data directory')
    // every vehicle found both stations, its own region first
    const lines = out.split('\n').filter(l => /^\s+vehicle-\d+\s+\S+\s+→/.test(l))
    assert.equal(lines.length, 3, out)
    for (const line of lines) {
      const own = /vehicle-\d+\s+(\S+)/.exec(line)?.[1]
      const regions = [...line.matchAll(/\((u33[de]), shared (\d)/g)].map(m => m[1])
      assert.deepEqual(regions.length, 2, `two stations found: ${line}`)
      assert.equal(regions[0], own, `own region first: ${line}`)
    }
    assert.match(out, /testnet stopped cleanly/)
    assert.equal(existsSync(root), false, 'data directory removed')
    let leftovers = ''
    try { leftovers = execFileSync('pgrep', ['-f', root], { encoding: 'utf8' }) } catch { leftovers = '' }
    assert.equal(leftovers.trim(), '', 'no node process left running')
  })

  it('refuses bad arguments with a usage message', async () => {
    const { code, out } = await runTestnet(['--stations', '0'], 20_000)
    assert.equal(code, 2)
    assert.match(out, /usage: npm run testnet/)
  })
})
