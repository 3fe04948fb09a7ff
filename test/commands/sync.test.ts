import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {mountTmpfs, remount, requireRoot, unmount} from '../helpers/mounts.js'
import {makeWorld, type World} from '../helpers/world.js'

describe('repoman sync (real rsync, tmpfs backup root)', () => {
  let world: World
  beforeEach(function () {
    requireRoot(this)
    world = makeWorld('/tmp/rm-sync-needs-no-incus')
    mountTmpfs(world.backupRoot)
  })
  afterEach(() => {
    unmount(world.backupRoot)
    world.dispose()
  })

  const sync = (args: string[] = []) => world.cli(['sync', ...args])
  const block = (text: string, name: string) =>
    text.split('[[project]]').find((b) => b.includes(`name = "${name}"`)) ?? ''
  const lastSync = (name: string) => /last_sync = "/.test(block(world.registryText(), name))

  it('mirrors every repo, then mirrors deletions; --no-delete keeps them', async () => {
    world.makeRepo('a')
    world.makeRepo('b')
    world.writeRegistry([{name: 'a'}, {name: 'b'}])
    const first = await sync(['--json'])
    expect(first.exitCode, first.stderr).to.equal(0)
    const result = JSON.parse(first.stdout)
    expect(result.failed).to.equal(0)
    expect(result.backup_root).to.have.all.keys(
      'root',
      'exists',
      'mount_point',
      'fs_type',
      'separate',
      'writable',
      'problem',
    )
    expect(result.projects.map((p: {name: string; ok: boolean}) => [p.name, p.ok])).to.deep.equal([
      ['a', true],
      ['b', true],
    ])
    expect(readFileSync(join(world.backupRoot, 'a/src/main.txt'), 'utf8')).to.equal('x=1\n')
    expect(lastSync('a') && lastSync('b')).to.equal(true)
    expect(readFileSync(result.log_file, 'utf8')).to.match(/\$ rsync -a .*--delete/)

    unlinkSync(join(world.reposRoot, 'a/README.md'))
    const kept = await sync(['a', '--no-delete'])
    expect(kept.exitCode).to.equal(0)
    expect(existsSync(join(world.backupRoot, 'a/README.md'))).to.equal(true)

    const mirrored = await sync(['a'])
    expect(mirrored.stdout).to.match(/Synced 1 project\(s\): 1 file\(s\)/)
    expect(existsSync(join(world.backupRoot, 'a/README.md'))).to.equal(false)
    expect(existsSync(join(world.backupRoot, 'a/src/main.txt'))).to.equal(true)
  })

  it('--dry-run changes nothing and shows what would change', async () => {
    world.makeRepo('a')
    world.writeRegistry([{name: 'a'}])
    const registry = world.registryText()
    const dry = await sync(['--dry-run'])
    expect(dry.exitCode, dry.stderr).to.equal(0)
    expect(dry.stdout).to.match(/^a → .*\/backup\/a:\n {2}cd\+{9} \.\/\n/m)
    expect(dry.stdout).to.match(/>f\+{9} README\.md/)
    expect(dry.stdout).to.match(/Would sync 1 project\(s\)/)
    expect(readdirSync(world.backupRoot)).to.deep.equal([])
    expect(world.registryText()).to.equal(registry)
  })

  it('refuses an unmounted backup root and writes nothing; --allow-local says a local disk is meant', async () => {
    world.makeRepo('a')
    world.writeRegistry([{name: 'a'}])
    unmount(world.backupRoot)
    mkdirSync(world.backupRoot, {recursive: true})
    const registry = world.registryText()
    const refused = await sync()
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.match(
      /^Error: backup root .* is not a separate mount .*pass --allow-local if a local disk is meant; nothing was synced\n$/,
    )
    expect(readdirSync(world.backupRoot)).to.deep.equal([])
    expect(world.registryText()).to.equal(registry)

    const local = await sync(['--allow-local'])
    expect(local.exitCode, local.stderr).to.equal(0)
    expect(existsSync(join(world.backupRoot, 'a/README.md'))).to.equal(true)
    mountTmpfs(world.backupRoot)
  })

  it('refuses a missing backup root', async () => {
    world.makeRepo('a')
    world.writeRegistry([{name: 'a'}])
    unmount(world.backupRoot)
    rmSync(world.backupRoot, {recursive: true})
    const refused = await sync()
    expect(refused.stderr).to.match(/backup root .* does not exist; mount the backup share there/)
    mountTmpfs(world.backupRoot)
  })

  it('never mirrors an empty or missing repo over its backup; the others still sync', async () => {
    world.makeRepo('a')
    world.makeRepo('b')
    world.makeRepo('c')
    world.writeRegistry([{name: 'a'}, {name: 'b'}, {name: 'c'}])
    expect((await sync()).exitCode).to.equal(0)
    rmSync(join(world.reposRoot, 'a'), {recursive: true})
    mkdirSync(join(world.reposRoot, 'a'))
    rmSync(join(world.reposRoot, 'b'), {recursive: true})
    writeFileSync(join(world.reposRoot, 'c/new.txt'), 'new\n')
    const registry = world.registryText()
    // last_sync has second precision: let the clock move on.
    await new Promise((r) => setTimeout(r, 1100))

    const result = await sync(['--json'])
    expect(result.exitCode).to.equal(1)
    const byName = Object.fromEntries(JSON.parse(result.stdout).projects.map((p: {name: string}) => [p.name, p]))
    expect(byName.a.error).to.match(/project "a": repo .* is empty; not mirroring it \(that would wipe its backup\)/)
    expect(byName.b.error).to.match(/project "b": repo .* is missing/)
    expect(byName.c.ok).to.equal(true)
    expect(readFileSync(join(world.backupRoot, 'a/README.md'), 'utf8')).to.equal('hello\n')
    expect(readFileSync(join(world.backupRoot, 'b/README.md'), 'utf8')).to.equal('hello\n')
    expect(readFileSync(join(world.backupRoot, 'c/new.txt'), 'utf8')).to.equal('new\n')
    // Only c's last_sync moved.
    const changed = world.registryText()
    for (const name of ['a', 'b']) expect(block(changed, name)).to.equal(block(registry, name))
    expect(block(changed, 'c')).to.not.equal(block(registry, 'c'))
    expect(lastSync('c')).to.equal(true)
  })

  it('skips projects with backup off unless named', async () => {
    world.makeRepo('a')
    world.makeRepo('off')
    world.writeRegistry([{name: 'a'}, {name: 'off', backup: false}])
    await sync()
    expect(readdirSync(world.backupRoot)).to.deep.equal(['a'])
    await sync(['off'])
    expect(readdirSync(world.backupRoot).sort()).to.deep.equal(['a', 'off'])
  })

  it('says in one line that the backup root is read-only or rsync is missing', async () => {
    world.makeRepo('a')
    world.writeRegistry([{name: 'a'}])
    remount(world.backupRoot, 'ro')
    const readOnly = await sync()
    expect(readOnly.exitCode).to.equal(1)
    expect(readOnly.stderr).to.match(
      /backup root .* is not writable \(read-only mount or permissions\); nothing was synced/,
    )
    remount(world.backupRoot, 'rw')

    const bin = join(world.home, 'bin')
    mkdirSync(bin)
    symlinkSync('/bin/bash', join(bin, 'bash'))
    const noRsync = await world.cli(['sync'], {env: {PATH: bin}})
    expect(noRsync.exitCode).to.equal(1)
    expect(noRsync.stderr).to.match(/^a: rsync is not installed; install it/m)
  })

  it('reports a full backup root', async () => {
    unmount(world.backupRoot)
    mountTmpfs(world.backupRoot, 'size=64k')
    const repo = world.makeRepo('big')
    writeFileSync(join(repo, 'blob'), Buffer.alloc(512 * 1024, 1))
    world.writeRegistry([{name: 'big'}])
    const full = await sync()
    expect(full.exitCode).to.equal(1)
    expect(full.stderr).to.match(/^big: the backup root is full/m)
  })
})
