import { strict as assert } from 'node:assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CertificateVerifier, verifyEntry } from '@fleetmesh/ledger'
import { importAuthorityPublicKey } from '@fleetmesh/peer'
import { removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { runCli } from '@fleetmesh/test-utils/fleet'

describe('fleetmesh authority grant', function () {
  this.timeout(60_000)
  after(removeTempDirs)

  it('writes a grant signed by the authority that a ledger verifies; bad input is one line on stderr', async () => {
    const dir = await tempDir('fleetmesh-grant-')
    const init = await runCli(['authority', 'init', '--out', dir])
    assert.equal(init.code, 0, init.stderr)
    const out = join(dir, 'office.grant')
    const expires = new Date(Date.now() + 30 * 24 * 3600_000).toISOString()
    const r = await runCli(['authority', 'grant', '--authority', dir, '--account', 'office', '--credits', '250.5', '--expires', expires, '--out', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /250\.5 credits to office/)
    const publicKey = importAuthorityPublicKey((await readFile(join(dir, 'authority.pub'))).toString('utf8'))
    const e = await verifyEntry(new Uint8Array(await readFile(out)), { certificates: new CertificateVerifier([publicKey]) })
    assert.ok(e.kind === 'grant')
    assert.equal(e.grant.account, 'office')
    assert.equal(e.grant.credits, 250.5)
    assert.equal(e.grant.expiresAt, Date.parse(expires))
    for (const [args, message] of [
      [['--credits', '0', '--expires', expires], /--credits: expected a positive number/],
      [['--credits', '5', '--expires', 'soon'], /--expires: expected an ISO 8601 time/],
      [['--credits', '5', '--expires', '2001-01-01T00:00:00Z'], /is in the past/]
    ] as const) {
      const bad = await runCli(['authority', 'grant', '--authority', dir, '--account', 'office', ...args, '--out', join(dir, 'x.grant')])
      assert.notEqual(bad.code, 0, `${args.join(' ')}: exit code`)
      assert.match(bad.stderr, message, args.join(' '))
    }
  })
})
