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
// fast path's bundle is CommonJS too, and loads the packages it needs through their CommonJS
// builds (esbuild turns its import() into require): Node's ES module loader has nothing to
// load, and listr2, say, loads in half the time (14 ms against 28 here), in one piece instead
// of interleaved with the steps it draws.
'use strict'
const {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs')
const nodeModule = require('node:module')
const {homedir} = require('node:os')
const {dirname, isAbsolute, join} = require('node:path')

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
  const {runFastPath} = requireCompiledOnce(join(root, 'dist/cli/fast-path.bundle.cjs'))
  return runFastPath(argv)
}

/**
 * Node 22+ keeps compiled code across runs (enableCompileCache, above). Node 20 does not, and
 * compiling the bundle is a third of a session's own time there: it is compiled with a V8 code
 * cache of its own, in the user's cache dir, made after a first run (so it holds what that run
 * compiled). The bundle has no import() (a vm.Script has no loader for one): it requires every
 * package. Any trouble with the cache is no failure: it is left alone.
 */
function requireCompiledOnce(file) {
  if (nodeModule.enableCompileCache) return require(file)
  const vm = require('node:vm')
  const built = statSync(file)
  const home = process.env.HOME || homedir()
  const xdgCache = process.env.XDG_CACHE_HOME
  const cacheDir = join(xdgCache && isAbsolute(xdgCache) ? xdgCache : join(home, '.cache'), 'repoman')
  const cacheFile = join(cacheDir, `fast-path-${process.version}-${built.size}-${Math.trunc(built.mtimeMs)}.v8`)
  let cachedData
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    // None yet: made once this run is done.
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`,
    {filename: file, cachedData},
  )
  const loaded = {exports: {}}
  script.runInThisContext()(loaded.exports, nodeModule.createRequire(file), loaded, file, dirname(file))
  if (cachedData === undefined || script.cachedDataRejected)
    process.once('exit', () => {
      try {
        mkdirSync(cacheDir, {recursive: true, mode: 0o700})
        const temp = `${cacheFile}.${process.pid}`
        writeFileSync(temp, script.createCachedData(), {mode: 0o600})
        renameSync(temp, cacheFile)
        // Earlier builds' caches go.
        for (const name of readdirSync(cacheDir))
          if (name.startsWith('fast-path-') && join(cacheDir, name) !== cacheFile) rmSync(join(cacheDir, name))
      } catch {
        // Not writable: compiled again next time, as without a cache.
      }
    })
  return loaded.exports
}

fastPath().then(async (exitCode) => {
  if (exitCode !== undefined) {
    process.exitCode = exitCode
    return
  }
  const {execute} = await import('@oclif/core')
  await execute({dir: join(root, 'package.json')})
})
