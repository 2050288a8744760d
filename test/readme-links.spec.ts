import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Markdown files of the repository: the root README, docs/ and every package's and example's README. */
async function markdownFiles (): Promise<string[]> {
  const out = [join(ROOT, 'README.md')]
  for (const dir of ['packages', 'examples']) {
    for (const name of await readdir(join(ROOT, dir))) {
      const readme = join(ROOT, dir, name, 'README.md')
      if (existsSync(readme)) out.push(readme)
    }
  }
  if (existsSync(join(ROOT, 'docs'))) {
    for (const name of await readdir(join(ROOT, 'docs'))) if (name.endsWith('.md')) out.push(join(ROOT, 'docs', name))
  }
  return out
}

describe('the documentation stands alone', () => {
  it('every relative link in a README points to a file inside the repository', async () => {
    for (const file of await markdownFiles()) {
      const text = await readFile(file, 'utf8')
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).split('#')[0] as string
        if (target === '' || /^[a-z]+:/i.test(target)) continue
        const path = resolve(dirname(file), target)
        const rel = relative(ROOT, path)
        assert.ok(!rel.startsWith('..'), `${relative(ROOT, file)}: link ${m[1]} leaves the repository`)
        assert.ok(existsSync(path), `${relative(ROOT, file)}: link ${m[1]} points to nothing`)
      }
    }
  })

  it('the root README says what npm test does (it builds and tests; lint is npm run lint)', async () => {
    const text = await readFile(join(ROOT, 'README.md'), 'utf8')
    const lines = text.split('\n')
    const at = lines.findIndex(l => l.trim() === 'npm ci && npm test')
    assert.ok(at > 0, 'README shows the test command')
    assert.doesNotMatch(lines[at - 1] as string, /lint/i, 'the comment on the test command must not claim npm test lints')
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    assert.doesNotMatch(pkg.scripts.test, /lint/, 'npm test does not lint')
    assert.match(text, /npm run lint/, 'README names the lint command')
  })
})
