import { strict as assert } from 'node:assert'
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { CONFIG_KEYS, envName, loadConfig } from '../src/config.js'

const KEY = 'CAESIJP8Bf/JJV8WAnC3npDM2Uz3Xc/Niz+CArX6BUXiAO85'
const BASE = { role: 'station', region: 'u33d', authorities: [KEY] }

describe('config', () => {
  let dir: string
  beforeEach(async () => { dir = await tempDir('fleetmesh-config-') })
  after(removeTempDirs)

  async function file (content: unknown, name = 'config.json'): Promise<string> {
    const f = join(dir, name)
    await writeFile(f, typeof content === 'string' ? content : JSON.stringify(content))
    return f
  }

  it('precedence: defaults < file < env < flags', async () => {
    const f = await file({ ...BASE, dataDir: 'data', api: { port: 1000 }, worker: { maxLeases: 2, pricePerUnit: 5 }, logLevel: 'warn' })
    const fromFile = loadConfig({ file: f, env: {} })
    assert.equal(fromFile.api.port, 1000)
    assert.equal(fromFile.worker.maxLeases, 2)
    assert.equal(fromFile.worker.loadFactor, 0.5, 'a default fills what the file leaves out')
    assert.equal(fromFile.api.host, '127.0.0.1')

    const env = { FLEETMESH_API_PORT: '2000', FLEETMESH_WORKER_MAX_LEASES: '3', FLEETMESH_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq, /ip4/127.0.0.1/tcp/2/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK' }
    const fromEnv = loadConfig({ file: f, env })
    assert.equal(fromEnv.api.port, 2000, 'env beats file')
    assert.equal(fromEnv.worker.maxLeases, 3, 'env beats file')
    assert.equal(fromEnv.worker.pricePerUnit, 5, 'file value kept where env says nothing')
    assert.deepEqual(fromEnv.bootstrap, ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', '/ip4/127.0.0.1/tcp/2/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'], 'env lists are comma separated')

    const fromFlags = loadConfig({ file: f, env, flags: { 'api.port': '3000', logLevel: 'debug', 'worker.enabled': true } })
    assert.equal(fromFlags.api.port, 3000, 'flag beats env')
    assert.equal(fromFlags.worker.maxLeases, 3, 'env kept where flags say nothing')
    assert.equal(fromFlags.logLevel, 'debug', 'flag beats file')
    assert.equal(fromFlags.worker.enabled, true)
  })

  it('resolves paths: file values against its directory, certificateFile defaults into the data directory', async () => {
    const f = await file({ ...BASE, dataDir: 'node', swarmKeyFile: 'swarm.key' })
    const c = loadConfig({ file: f, env: {}, cwd: '/' })
    assert.equal(c.dataDir, join(dir, 'node'))
    assert.equal(c.swarmKeyFile, join(dir, 'swarm.key'))
    assert.equal(c.certificateFile, join(dir, 'node', 'certificate'))
    const g = loadConfig({ file: f, env: { FLEETMESH_SWARM_KEY_FILE: 'k' }, cwd: '/etc' })
    assert.equal(g.swarmKeyFile, '/etc/k', 'env paths resolve against cwd')
  })

  it('reads <dataDir>/config.json when no file is given', async () => {
    const dataDir = join(dir, 'dd')
    await mkdir(dataDir)
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ ...BASE, dataDir: '.', api: { port: 4321 } }))
    const c = loadConfig({ env: {}, flags: { dataDir } })
    assert.equal(c.api.port, 4321)
    assert.equal(c.dataDir, dataDir)
  })

  const BAD: Array<{ layer: 'file' | 'env' | 'flag', key: string, value: unknown, expect: RegExp }> = [
    { layer: 'env', key: 'api.port', value: 'abc', expect: /^config key "api\.port": expected an integer 0\.\.65535, got "abc" \(from env FLEETMESH_API_PORT\)$/ },
    { layer: 'flag', key: 'api.port', value: '70000', expect: /config key "api\.port": expected an integer 0\.\.65535, got 70000/ },
    { layer: 'file', key: 'api.host', value: '0.0.0.0', expect: /config key "api\.host": expected a loopback address: 127\.0\.0\.1 or ::1, got "0\.0\.0\.0" \(from file / },
    { layer: 'flag', key: 'role', value: 'car', expect: /config key "role": expected one of station, vehicle, got "car"/ },
    { layer: 'env', key: 'region', value: 'U33D', expect: /config key "region": expected a geohash prefix/ },
    { layer: 'file', key: 'worker.maxLeases', value: 0, expect: /config key "worker\.maxLeases": expected an integer 1\.\.1024, got 0/ },
    { layer: 'flag', key: 'worker.pricePerUnit', value: '-1', expect: /config key "worker\.pricePerUnit": expected a number > 0, got -1/ },
    { layer: 'env', key: 'vehicle.soc', value: '1.5', expect: /config key "vehicle\.soc": expected a number 0\.\.1, got 1\.5/ },
    { layer: 'file', key: 'vehicle.state', value: 'flying', expect: /config key "vehicle\.state": expected one of parked, charging, driving/ },
    { layer: 'env', key: 'mdns', value: 'maybe', expect: /config key "mdns": expected true or false, got "maybe"/ },
    { layer: 'flag', key: 'logLevel', value: 'loud', expect: /config key "logLevel": expected one of error, warn, info, debug, got "loud"/ },
    { layer: 'file', key: 'bootstrap', value: ['/ip4/1.2.3.4/tcp/1/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', 7], expect: /config key "bootstrap\[1\]": expected a list of multiaddrs/ },
    { layer: 'file', key: 'authorities', value: [], expect: /config key "authorities": expected a non-empty list/ },
    { layer: 'file', key: 'worker.availability.minParkedSoc', value: 2, expect: /config key "worker\.availability\.minParkedSoc": expected a number 0\.\.1, got 2/ },
    { layer: 'env', key: 'market.bidWindowMs', value: '10s', expect: /config key "market\.bidWindowMs": expected an integer 1\.\.600000 \(ms\), got "10s"/ },
    { layer: 'env', key: 'modelStore.budgetBytes', value: '1.5', expect: /config key "modelStore\.budgetBytes": expected a positive integer \(bytes\), got 1\.5/ }
  ]

  for (const bad of BAD) {
    it(`names the bad key: ${bad.key} = ${JSON.stringify(bad.value)} (${bad.layer})`, async () => {
      const nested: Record<string, any> = { ...BASE }
      if (bad.layer === 'file') {
        const parts = bad.key.split('.')
        let at = nested
        for (const p of parts.slice(0, -1)) at = (at[p] ??= {})
        at[parts[parts.length - 1] as string] = bad.value
      }
      const f = await file(nested)
      const env = bad.layer === 'env' ? { [envName(bad.key)]: String(bad.value) } : {}
      const flags = bad.layer === 'flag' ? { [bad.key]: bad.value } : {}
      assert.throws(() => loadConfig({ file: f, env, flags }), (err: any) => {
        assert.equal(err.name, 'ConfigError')
        assert.equal(err.code, 'ERR_CONFIG')
        assert.match(err.message, bad.expect)
        return true
      })
    })
  }

  it('rejects unknown keys, a missing file and a file that is not JSON, saying what to do', async () => {
    assert.throws(() => loadConfig({ file: join(dir, 'nope.json'), env: {} }), { name: 'ConfigError', message: /nope\.json: cannot read it as JSON \(no such file\)/ })
    assert.throws(() => loadConfig({ file: join(dir, 'nope.json'), env: {} }), { name: 'ConfigError', message: /fleetmesh init/ })
    const broken = await file('{ "role": ', 'broken.json')
    assert.throws(() => loadConfig({ file: broken, env: {} }), { name: 'ConfigError', message: /broken\.json: cannot read it as JSON/ })
    const unknown = await file({ ...BASE, apiPort: 1 }, 'unknown.json')
    assert.throws(() => loadConfig({ file: unknown, env: {} }), { name: 'ConfigError', message: /config key "apiPort" \(file .*\): unknown key; known keys: dataDir, role/ })
    const nested = await file({ ...BASE, api: { prot: 1 } }, 'nested.json')
    assert.throws(() => loadConfig({ file: nested, env: {} }), { name: 'ConfigError', message: /config key "api\.prot".*unknown key/ })
    assert.throws(() => loadConfig({ env: {}, flags: { ...BASE, 'api.prot': '1' } }), { name: 'ConfigError', message: /config key "api\.prot": unknown key/ })
    assert.throws(() => loadConfig({ env: {}, flags: { region: 'u33d', authorities: [KEY] } }), { name: 'ConfigError', message: /no config for data directory .*: run `fleetmesh init --data-dir/ })
    assert.throws(() => loadConfig({ env: {}, flags: { role: 'station', authorities: [KEY] } }), { name: 'ConfigError', message: /config key "region": expected .*, got nothing/ })
  })

  it('every key is in the README reference table with its env var', async () => {
    const readme = await readFile(resolve(dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8')
    for (const spec of CONFIG_KEYS) {
      assert.ok(readme.includes(`| \`${spec.key}\` | \`${envName(spec.key)}\``), `README documents ${spec.key}`)
    }
  })
})
