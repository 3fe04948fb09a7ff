import {writeFileSync} from 'node:fs'
import {startTestDaemon, TEST_IMAGE} from '../test/helpers/incus-daemon.js'
import {makeWorld} from '../test/helpers/world.js'

const daemon = await startTestDaemon()
const world = makeWorld(daemon.dir)
await world.setup()
const names = Array.from({length: 30}, (_, i) => `p${String(i).padStart(3, '0')}`)
for (const n of names) {
  const repo = world.makeRepo(n)
  world.incus(['init', TEST_IMAGE, n])
  world.incus(['config', 'device', 'add', n, 'repo', 'disk', `source=${repo}`, `path=${repo}`, 'shift=true'])
  world.incus(['start', n])
}
world.writeRegistry(names.map((name) => ({name})))
writeFileSync(
  '/tmp/scr/env.sh',
  Object.entries(world.env)
    .map(([k, v]) => `export ${k}='${v}'`)
    .join('\n') + `\nexport PROJ='${world.incusProject}'\n`,
)
console.log('ok')
