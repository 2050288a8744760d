import { spawn } from 'node:child_process'

/**
 * Runs a Node.js script as its own process (with this test's Node), collects
 * stdout and stderr, and kills it with SIGKILL if it outlives `timeoutMs`.
 */
export async function runNode (script: string, args: string[], timeoutMs: number, cwd?: string): Promise<{ code: number | null, out: string, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  clearTimeout(timer)
  return { code, out, stdout, stderr }
}
