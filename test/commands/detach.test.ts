import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {openTerminal, requireHostTmux} from '../helpers/terminal.js'
import {makeWorld, requireIncus, requireRealImage, type World} from '../helpers/world.js'

describe('detached sessions (real Incus, tmux on the host drives the terminal)', () => {
  let world: World
  afterEach(() => world?.dispose())

  it('says in one line that the image (busybox) has no tmux', async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
    world.makeRepo('alpha')
    expect((await world.cli(['new', 'alpha'])).exitCode).to.equal(0)
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

  it('runs a command in a session that outlives exec, lists it, and attaches a terminal to it (Debian image, non-root user)', async function () {
    requireHostTmux(this)
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    world.makeRepo('alpha')
    const created = await world.cli(['new', 'alpha', '--image', REAL_IMAGE])
    expect(created.exitCode, created.stderr).to.equal(0)
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
      expect(await terminal.screen(/hi from/)).to.match(
        new RegExp(`hi from ${world.reposRoot}/alpha as ${world.user?.name}`),
      )
      terminal.type('typed', 'Enter')
      const answer = join(world.reposRoot, 'alpha/answer.txt')
      // The shell creates the file before it writes the line: wait for the whole line.
      const written = () => (existsSync(answer) ? readFileSync(answer, 'utf8') : '')
      for (let i = 0; i < 50 && !written().endsWith('\n'); i++) await new Promise((r) => setTimeout(r, 200))
      expect(written()).to.equal('got typed\n')
    } finally {
      // The terminal goes away; the session does not.
      terminal.close()
    }
    const after = JSON.parse((await world.cli(['list', '--sessions', '--json'])).stdout)
    expect(after[0].sessions).to.deep.equal([session])
  })
})
