#!/usr/bin/env node
// The commands typed most often skip loading oclif, which costs more than they do:
// - `--version` answers from package.json, and the root `--help` from the text oclif rendered
//   at build time (dist/help.txt);
// - `list`, `status`, `exec` and `shell` in their everyday shapes run on the fast path
//   (dist/cli/fast-path.bundle.cjs), which leaves to oclif, before reading or running anything,
//   every argument list it does not fully understand.
// With user plugins installed, help and commands may differ, so oclif answers everything.
// REPOMAN_NO_FAST_PATH=1 turns all of this off.
//
// This file is CommonJS (bin/package.json says so): Node starts a CommonJS entry about 20 ms
// sooner than an ES module one, and `--version` or `--help` then load no ES module at all. The
// fast path's bundle is CommonJS too: requiring it skips starting Node's ES module loader
// (5-10 ms here), which the commands that need an ES module package start later, if at all.
'use strict'
const {existsSync, readFileSync} = require('node:fs')
const nodeModule = require('node:module')
const {homedir} = require('node:os')
const {join} = require('node:path')

// Node 22+ can cache compiled modules across runs: module graphs then load much faster.
nodeModule.enableCompileCache?.()

const argv = process.argv.slice(2)
const root = join(__dirname, '..')

async function fastPath() {
  if (process.env.REPOMAN_NO_FAST_PATH) return undefined
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const {name, version} = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return 0
  }
  const dataDir = join(process.env.XDG_DATA_HOME || join(process.env.HOME || homedir(), '.local/share'), 'repoman')
  if (existsSync(join(dataDir, 'package.json'))) return undefined
  const help = join(root, 'dist/help.txt')
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && existsSync(help)) {
    process.stdout.write(readFileSync(help, 'utf8'))
    return 0
  }
  const {runFastPath} = require('../dist/cli/fast-path.bundle.cjs')
  return runFastPath(argv)
}

fastPath().then(async (exitCode) => {
  if (exitCode !== undefined) {
    process.exitCode = exitCode
    return
  }
  const {execute} = await import('@oclif/core')
  await execute({dir: join(root, 'package.json')})
})
