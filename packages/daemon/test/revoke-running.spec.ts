import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createAuthority, createRevocationList } from '@fleetmesh/peer'
import { removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import { startDaemon } from '../src/daemon.js'
import type { Daemon } from '../src/daemon.js'
import type { FleetFiles } from '@fleetmesh/test-utils/fleet'

describe('revocation on a running daemon', function () {
  this.timeout(90_000)
  let fleet: FleetFiles
  const daemons: Daemon[] = []
  afterEach(async () => {
    await Promise.allSettled(daemons.map(async d => d.stop()))
    daemons.length = 0
    await removeTempDirs()
  })

  it('fleetmesh revocations --apply FILE drops the revoked peer at once, without a restart, and the list is held, listed and refused when stale (POST/GET /api/v1/revocations)', async () => {
    fleet = await createFleetFiles(await tempDir('fleetmesh-revoke-running-'))
    const station = await startDaemon(await testDaemonConfig(fleet, 'station', 'station'), { log: () => {} })
    daemons.push(station)
    const member = await startDaemon(await testDaemonConfig(fleet, 'member', 'station', { bootstrap: station.node.getMultiaddrs().map(String) }), { log: () => {} })
    daemons.push(member)
    await waitUntil(() => station.node.isAdmitted(member.node.peerId), { timeoutMs: 20_000, message: 'the member admitted by the station' })

    const dir = await tempDir('fleetmesh-revoke-list-')
    const file = join(dir, 'revocation.list')
    await writeFile(file, await createRevocationList(fleet.authority, [{ peerId: member.node.peerId, reason: 'stolen' }], { sequence: 7 }))
    const applied = await runCli(['revocations', '--apply', file, '--data-dir', station.config.dataDir, '--json'])
    assert.equal(applied.code, 0, applied.stderr)
    const r = JSON.parse(applied.stdout)
    assert.equal(r.sequence, 7)
    assert.deepEqual(r.entries, [{ peerId: member.node.peerId.toString(), reason: 'stolen' }])
    assert.deepEqual(r.dropped, [member.node.peerId.toString()], 'the revoked member was dropped by the running daemon')
    assert.equal(station.node.isAdmitted(member.node.peerId), false)
    await waitUntil(() => station.node.libp2p.getConnections(member.node.peerId).length === 0, { timeoutMs: 10_000, message: 'the revoked member disconnected' })

    const listed = await runCli(['revocations', '--data-dir', station.config.dataDir])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /list 7 of .*1 entries/)
    assert.match(listed.stdout, new RegExp(`${member.node.peerId.toString()} \\(stolen\\)`))

    const again = await runCli(['revocations', '--apply', file, '--data-dir', station.config.dataDir])
    assert.notEqual(again.code, 0, 'a stale list is refused')
    assert.match(again.stderr, /holds that list or a newer one/)

    const foreign = join(dir, 'foreign.list')
    await writeFile(foreign, await createRevocationList(await createAuthority(), [{ peerId: station.node.peerId }], { sequence: 1 }))
    const unknown = await runCli(['revocations', '--apply', foreign, '--data-dir', station.config.dataDir])
    assert.notEqual(unknown.code, 0, 'a list of another authority is refused')
    assert.match(unknown.stderr, /ERR_UNKNOWN_AUTHORITY|authority/i)
    assert.equal(station.node.revocationLists().length, 1, 'the daemon keeps running with its one list')
  })
})
