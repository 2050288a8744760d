import { existsSync } from 'node:fs'
import sparticuz from '@sparticuz/chromium'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'

/** A system Chromium, used when the machine has one. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium'

/**
 * The Chromium executable for the dashboard tests: the system one if it is
 * installed, else the binary that the `@sparticuz/chromium` package ships
 * (unpacked to the temp directory on first use, no download), so
 * `npm ci && npm test` needs no browser on the machine.
 */
export async function chromiumPath (): Promise<string> {
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM
  return sparticuz.executablePath()
}

/** Launches headless Chromium through playwright-core; `timeoutMs` bounds the launch. */
export async function launchChromium (timeoutMs: number): Promise<Browser> {
  const executablePath = await chromiumPath()
  // the packaged build is a headless shell: it needs no sandbox setup and no zygote in a container
  const args = executablePath === SYSTEM_CHROMIUM ? ['--no-sandbox', '--headless=new'] : ['--no-sandbox', '--no-zygote', '--headless=shell', '--use-gl=angle', '--use-angle=swiftshader']
  // a fixed UI language: with LANG/LC_ALL at C or POSIX (CI containers) the packaged build reports the
  // locale `en-US@posix`, which Intl refuses ("Invalid language tag"), and the page's number formatting throws
  args.push('--lang=en-US')
  return chromium.launch({ executablePath, args, timeout: timeoutMs, env: { ...process.env, LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' } })
}
