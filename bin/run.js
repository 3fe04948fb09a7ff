#!/usr/bin/env node
// `--version` and the root `--help` are typed often and need none of oclif: answer them from
// package.json and from the help text oclif rendered at build time (dist/help.txt). With user
// plugins installed the help would differ, so oclif answers then.
import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

const argv = process.argv.slice(2)
const root = new URL('..', import.meta.url)
if (!process.env.REPOMAN_NO_FAST_PATH && argv.length === 1) {
  if (argv[0] === '--version' || argv[0] === '-v') {
    const {name, version} = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
    process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    process.exit(0)
  }
  const help = new URL('dist/help.txt', root)
  const dataDir = join(process.env.XDG_DATA_HOME || join(process.env.HOME || homedir(), '.local/share'), 'repoman')
  if ((argv[0] === '--help' || argv[0] === '-h') && existsSync(help) && !existsSync(join(dataDir, 'package.json'))) {
    process.stdout.write(readFileSync(help, 'utf8'))
    process.exit(0)
  }
}

// Node 22+ can cache compiled modules across runs: oclif's module graph then loads much faster.
const {default: nodeModule} = await import('node:module')
nodeModule.enableCompileCache?.()

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
