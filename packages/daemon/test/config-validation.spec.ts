import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { loadConfig } from '../src/config.js'
import { startDaemon } from '../src/daemon.js'
import { killChildProcesses, removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import type { Daemon } from '../src/daemon.js'
import type { AddressInfo, Server } from 'node:net'

const AUTH = 'CAESIJ3mPL1bCvwRzzSihuQnoOqQ7ZA0o6BY6d7m3l2gQmjz'

async function holdPort (host: string): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, host, resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

describe('config validation at init and at start', function () {
  this.timeout(60_000)
  const daemons: Daemon[] = []
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map(async d => d.stop()))
    await killChildProcesses()
  })
  after(removeTempDirs)

  it('multiaddrs are parsed; bootstrap addresses must carry /p2p/<PeerId>', () => {
    const base = { dataDir: '/tmp/x', role: 'station', region: 'u33d', authorities: [AUTH] }
    assert.throws(() => loadConfig({ env: {}, flags: { ...base, listen: ['/ip4/127.0.0.1/tcp/notaport'] } }), { name: 'ConfigError', key: 'listen', message: /config key "listen\[0\]": expected a list of multiaddrs.*got "\/ip4\/127\.0\.0\.1\/tcp\/notaport" \(from the command line\)/ })
    assert.throws(() => loadConfig({ env: {}, flags: { ...base, announce: ['127.0.0.1:4001'] } }), { name: 'ConfigError', key: 'announce' })
    assert.throws(() => loadConfig({ env: { FLEETMESH_BOOTSTRAP: '/ip4/10.0.0.1/tcp/4001' }, flags: base }), { name: 'ConfigError', key: 'bootstrap', message: /config key "bootstrap\[0\]": expected a list of multiaddrs ending in \/p2p\/<PeerId>, got "\/ip4\/10\.0\.0\.1\/tcp\/4001" \(from env FLEETMESH_BOOTSTRAP\)/ })
    const ok = loadConfig({ env: {}, flags: { ...base, bootstrap: ['/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'] } })
    assert.equal(ok.bootstrap.length, 1)
  })

  it('a data directory without config.json says to run fleetmesh init', async () => {
    const dir = join(await tempDir('fleetmesh-cfg-'), 'node')
    assert.throws(() => loadConfig({ env: {}, flags: { dataDir: dir } }), { name: 'ConfigError', message: /no config for data directory .*: run `fleetmesh init --data-dir .*` first/ })
    const r = await runCli(['daemon', '--data-dir', dir])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^fleetmesh: no config for data directory .*run `fleetmesh init/)
  })

  it('init validates every key even with no --authority-pub, and writes nothing on a bad one', async () => {
    const dir = join(await tempDir('fleetmesh-cfg-'), 'node')
    const r = await runCli(['init', '--data-dir', dir, '--role', 'station', '--region', 'u33d', '--set', 'api.port=abc'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /^fleetmesh: config key "api\.port": expected an integer 0\.\.65535, got "abc" \(from the command line\)\n$/)
    assert.ok(!existsSync(join(dir, 'config.json')), 'no config.json written')
    const bad = await runCli(['init', '--data-dir', dir, '--role', 'station', '--region', 'u33d', '--bootstrap', '/ip4/10.0.0.1/tcp/4001'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /config key "bootstrap\[0\]": expected a list of multiaddrs ending in \/p2p\/<PeerId>/)
    const vehicle = await runCli(['init', '--data-dir', dir, '--role', 'vehicle', '--region', 'u33d'])
    assert.equal(vehicle.code, 0, vehicle.stderr)
    assert.match(vehicle.stdout, /fleetmesh authority issue .*--role vehicle --region u33d --owner OWNER_ACCOUNT --out/, 'the hint names --owner for a vehicle')
  })

  it('a listen port in use names the key to change (listen, api.port), with no stack trace', async () => {
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    const host = '127.0.0.1'
    const { server, port } = await holdPort(host)
    try {
      const config = await testDaemonConfig(fleet, 'busy', 'station', { listen: [`/ip4/${host}/tcp/${port}`] })
      await assert.rejects(startDaemon(config, { log: () => {} }), (err: any) => {
        assert.equal(err.name, 'ConfigError')
        assert.equal(err.key, 'listen')
        assert.match(err.message, new RegExp(`config key "listen": cannot listen on /ip4/${host}/tcp/${port} \\(address in use\\); set listen`))
        assert.doesNotMatch(err.message, /faultTolerance/)
        return true
      })
      const apiBusy = await testDaemonConfig(fleet, 'busy-api', 'station', { api: { host: '127.0.0.1', port } })
      await assert.rejects(startDaemon(apiBusy, { log: () => {} }), { name: 'ConfigError', key: 'api.port', message: new RegExp(`config key "api.port": port ${port} on 127.0.0.1 is in use`) })
    } finally {
      server.close()
    }
  })

  it('the daemon log prints the dashboard URL with its token', async () => {
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    const lines: string[] = []
    const d = await startDaemon(await testDaemonConfig(fleet, 'log', 'station'), { log: (_level, line) => { lines.push(line) } })
    daemons.push(d)
    assert.ok(lines.includes(`dashboard on ${d.url}/#token=${d.token}`), lines.join('\n'))
  })
})
