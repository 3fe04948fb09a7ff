/**
 * Mocha root hooks: one private Incus daemon for the whole run. Under CI=true a machine without
 * Incus fails the run; elsewhere the integration suites are skipped with a loud reason.
 */
import {missingIncus, startTestDaemon, type TestDaemon} from './helpers/incus-daemon.js'

let daemon: TestDaemon | undefined

export async function mochaGlobalSetup(): Promise<void> {
  const why = missingIncus()
  if (why) {
    if (process.env.CI === 'true') throw new Error(`CI=true and there is no Incus to test against: ${why}`)
    process.env.REPOMAN_TEST_NO_INCUS = why
    console.warn(`\n  !! Integration tests will be skipped: ${why}\n`)
    return
  }
  daemon = await startTestDaemon()
  process.env.REPOMAN_TEST_INCUS_DIR = daemon.dir
}

export async function mochaGlobalTeardown(): Promise<void> {
  daemon?.stop()
}
