import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {expect} from 'chai'
import {requireIncus} from './helpers/world.js'

const ROOT = resolve(import.meta.dirname, '..')

describe('packaging: npm pack, then a global install elsewhere', function () {
  this.timeout(300_000)
  let dir: string
  let repoman: string
  let env: NodeJS.ProcessEnv
  before(() => {
    dir = mkdtempSync('/tmp/rm-pack-')
    env = {...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache')}
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('installs from the tarball and runs, with the vendor profiles inside', () => {
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {cwd: ROOT, encoding: 'utf8'})
      .trim()
      .split('\n')
      .pop() as string
    const prefix = join(dir, 'prefix')
    execFileSync(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball)],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    )
    repoman = join(prefix, 'bin', 'repoman')
    const version = execFileSync(repoman, ['--version'], {env, encoding: 'utf8'})
    expect(version).to.match(/^repoman\/\d+\.\d+\.\d+ linux-x64 node-v\d+/)
    expect(execFileSync(repoman, ['--help'], {env, encoding: 'utf8'})).to.match(/profile\s+Manage the Incus profiles/)

    const installed = join(prefix, 'lib', 'node_modules', 'repoman')
    expect(readdirSync(join(installed, 'profiles'))).to.include.members(['claude-share.yaml', 'llm-share.yaml'])
    expect(existsSync(join(installed, 'oclif.manifest.json'))).to.equal(true)
    expect(existsSync(join(installed, 'test'))).to.equal(false)
  })

  it('runs list on the fast path from the installed bundle', function () {
    const incusDir = requireIncus(this)
    mkdirSync(join(dir, 'config', 'repoman'), {recursive: true})
    writeFileSync(
      join(dir, 'config', 'repoman', 'repoman.toml'),
      `schema = 3\n[defaults]\nrepos_root = "${dir}"\nbackup_root = "${dir}/backup"\nincus_project = "default"\n`,
    )
    const result = spawnSync(repoman, ['list', '--json'], {
      env: {...env, INCUS_DIR: incusDir, DEBUG: 'repoman'},
      encoding: 'utf8',
    })
    expect(result.stderr).to.equal('repoman:fast-path ran list\n')
    expect(JSON.parse(result.stdout)).to.be.an('array')
    expect(result.status).to.equal(0)
  })
})
