import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {openTerminal, requireHostTmux} from '../helpers/terminal.js'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

/**
 * The host's tmux, with the libraries and terminfo it needs, pushed into a busybox container
 * (busybox has no tmux, and no libc). The real Debian test image, once on main, makes this unneeded.
 */
function pushHostTmux(world: World, name: string): void {
  const files = execFileSync('sh', ['-c', "ldd /usr/bin/tmux | grep -o '/[^ ]*'"], {encoding: 'utf8'})
    .split('\n')
    .filter(Boolean)
  const push = (source: string, target = source) =>
    execFileSync('incus', ['file', 'push', '-p', source, `${name}${target}`, '--project', world.incusProject], {
      env: world.env,
      stdio: 'ignore',
    })
  for (const file of files) push(execFileSync('readlink', ['-f', file], {encoding: 'utf8'}).trim(), file)
  push('/usr/bin/tmux', '/usr/bin/tmux')
  for (const term of ['x/xterm', 's/screen', 'd/dumb', 't/tmux-256color']) push(`/lib/terminfo/${term}`)
  // incus exec sets LANG=C.UTF-8, and tmux wants that locale to load.
  push('/usr/lib/locale/C.utf8/LC_CTYPE')
}

describe('detached sessions (real Incus, tmux on the host drives the terminal)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
    world.makeRepo('alpha')
    expect((await world.cli(['new', 'alpha'])).exitCode).to.equal(0)
  })
  afterEach(() => world?.dispose())

  it('says in one line that the image has no tmux', async () => {
    const refused = await world.cli(['exec', '--detach', 'alpha', '--', 'sleep', '100'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.equal(
      'Error: the container of "alpha" has no tmux, which detached sessions need; install it there (e.g. `apt install tmux`) or use an image with it\n',
    )
    const list = JSON.parse((await world.cli(['list', '--sessions', '--json'])).stdout)
    expect(list[0].sessions).to.equal(null)
    // The normal list says nothing about sessions (and asks the containers nothing).
    expect(JSON.parse((await world.cli(['list', '--json'])).stdout)[0]).to.not.have.property('sessions')
  })

  it('runs a command in a session that outlives exec, lists it, and attaches a terminal to it', async function () {
    requireHostTmux(this)
    pushHostTmux(world, 'alpha')
    const started = await world.cli([
      'exec',
      '--detach',
      'alpha',
      '--env',
      'GREETING=hi',
      '--',
      'sh',
      '-c',
      'echo "$GREETING from $(pwd) as $USER"; read line; echo "got $line" > answer.txt; sleep 100',
    ])
    expect(started.exitCode, started.stderr).to.equal(0)
    const session = started.stdout.trim()
    expect(session).to.match(/^sh-[0-9a-f]{4}$/)
    expect(started.stderr).to.equal(`Detached; back to it with: repoman attach alpha ${session}\n`)

    const listed = JSON.parse((await world.cli(['list', '--sessions', '--json'])).stdout)
    expect(listed[0].sessions).to.deep.equal([session])
    const table = await world.cli(['list', '--sessions'])
    expect(table.stdout).to.match(new RegExp(`SESSIONS\\nalpha .* ${session}\\n`))

    // A terminal on the host runs `repoman attach`, sees the output, types.
    const terminal = openTerminal(world, ['attach', 'alpha', session])
    try {
      expect(await terminal.screen(/hi from/)).to.match(new RegExp(`hi from ${world.reposRoot}/alpha as root`))
      terminal.type('typed', 'Enter')
      const answer = join(world.reposRoot, 'alpha/answer.txt')
      for (let i = 0; i < 50 && !existsSync(answer); i++) await new Promise((r) => setTimeout(r, 200))
      expect(readFileSync(answer, 'utf8')).to.equal('got typed\n')
    } finally {
      // The terminal goes away; the session does not.
      terminal.close()
    }
    const after = JSON.parse((await world.cli(['list', '--sessions', '--json'])).stdout)
    expect(after[0].sessions).to.deep.equal([session])
  })
})
