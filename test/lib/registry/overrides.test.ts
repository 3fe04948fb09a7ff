import {expect} from 'chai'
import {ConfigError} from '../../../src/lib/errors.js'
import {parseOverride} from '../../../src/lib/registry/overrides.js'

describe('per-project overrides', () => {
  it('reads the spec example', async () => {
    const text = `[container]
image = "images:debian/12/cloud"
profiles = ["default", "claude-share", "node-dev"]

[[mount]]
source = "~/.npm"
path = "/home/ctusa/.npm"

[env]
NODE_ENV = "development"
`
    expect(await parseOverride(text, 'p.toml')).to.deep.equal({
      image: 'images:debian/12/cloud',
      profiles: ['default', 'claude-share', 'node-dev'],
      protectedPaths: undefined,
      mounts: [{source: '~/.npm', path: '/home/ctusa/.npm', readonly: false}],
      env: {NODE_ENV: 'development'},
    })
  })

  it('names file and line of a bad entry', async () => {
    const error = await parseOverride(
      '[[mount]]\nsource = "/a"\npath = "/b"\n[[mount]]\nsource = "/c"\npath = "rel"\n',
      'p.toml',
    ).catch((e) => e)
    expect(error).to.be.instanceOf(ConfigError)
    expect(error.message).to.match(/^p\.toml:6: mount\[1\]\.path must be an absolute path/)
    const env = await parseOverride('[env]\n"BAD-NAME" = "x"\n', 'p.toml').catch((e) => e)
    expect(env.message).to.match(/^p\.toml:2: env\.BAD-NAME is not a valid environment variable name/)
  })
})
