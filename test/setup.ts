/**
 * Mocha root hooks: one private Incus daemon for the whole run, with the busybox and the real
 * Debian images and the non-root test user. Under CI=true a machine without Incus (or without the
 * real image) fails the run; elsewhere those suites are skipped with a loud reason.
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
  process.env.REPOMAN_TEST_USER = JSON.stringify(daemon.user)
  if (daemon.realImageMissing) {
    process.env.REPOMAN_TEST_NO_REAL_IMAGE = daemon.realImageMissing
    console.warn(`\n  !! Real-image tests will be skipped: ${daemon.realImageMissing}\n`)
  }
  if (daemon.btrfsMissing) {
    process.env.REPOMAN_TEST_NO_BTRFS = daemon.btrfsMissing
    console.warn(`\n  !! Tests on the btrfs pool will be skipped: ${daemon.btrfsMissing}\n`)
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  daemon?.stop()
}
