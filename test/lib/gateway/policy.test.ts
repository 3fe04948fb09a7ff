import {expect} from 'chai'
import {
  decideAddresses,
  decideTarget,
  parseAllowTarget,
  parseAuthority,
  parsePolicy,
} from '../../../src/lib/gateway/policy.js'

describe('gateway policy (pure)', () => {
  it('parses names, *.domain, presets and addresses, and refuses what is none of them', () => {
    expect(parseAllowTarget('API.example.com')).to.deep.equal([
      {kind: 'host', name: 'api.example.com', ports: [80, 443]},
    ])
    expect(parseAllowTarget('*.github.com:22')).to.deep.equal([{kind: 'domain', suffix: 'github.com', ports: [22]}])
    expect(parseAllowTarget('192.168.1.42:11434')).to.deep.equal([
      {kind: 'cidr', address: '192.168.1.42', prefix: 32, family: 'ipv4', ports: [11434]},
    ])
    expect(parseAllowTarget('10.1.2.0/24')[0]).to.include({kind: 'cidr', prefix: 24})
    expect(parseAllowTarget('[fd00::1]:8080')[0]).to.deep.include({family: 'ipv6', ports: [8080]})
    expect(parseAllowTarget('fd00::/8')[0]).to.deep.include({family: 'ipv6', prefix: 8})
    expect(parseAllowTarget('claude').map((t) => (t.kind === 'host' ? t.name : ''))).to.include('api.anthropic.com')
    for (const bad of ['nodots', 'a..b', 'x.com:0', '999.1.1.1', '-a.com', 'a b.com', '10.0.0.0/40'])
      expect(() => parseAllowTarget(bad), bad).to.throw()
  })

  it('allowlist: only listed names, never unlisted IP literals; listed names may resolve privately', () => {
    const policy = parsePolicy('allowlist', ['api.anthropic.com', '*.npmjs.org', 'nas.lan:8080', '192.0.2.7:443'])
    expect(decideTarget(policy, 'api.anthropic.com', 443)).to.deep.equal({allowed: true})
    expect(decideTarget(policy, 'registry.npmjs.org', 443).allowed).to.equal(true)
    expect(decideTarget(policy, 'npmjs.org', 443).allowed, 'the suffix alone is not *.').to.equal(false)
    expect(decideTarget(policy, 'api.anthropic.com', 22).allowed).to.equal(false)
    expect(decideTarget(policy, 'example.org', 443)).to.deep.equal({allowed: false, reason: 'not on the allow list'})
    expect(decideTarget(policy, '1.1.1.1', 443).allowed).to.equal(false)
    expect(decideTarget(policy, '192.0.2.7', 443).allowed).to.equal(true)
    expect(decideTarget(policy, '::ffff:192.0.2.7', 443).allowed, 'mapped is the same address').to.equal(true)
    expect(decideAddresses(policy, 'nas.lan', 8080, ['192.168.1.5']).allowed).to.equal(true)
    expect(decideAddresses(policy, 'api.anthropic.com', 443, ['127.0.0.1']).allowed, 'listed by name').to.equal(true)
  })

  it('restricted and open: loopback and (restricted) private addresses only when listed', () => {
    const restricted = parsePolicy('restricted', ['192.168.1.42:11434'])
    expect(decideTarget(restricted, 'example.org', 443).allowed).to.equal(true)
    expect(decideAddresses(restricted, 'example.org', 443, ['93.184.215.14']).allowed).to.equal(true)
    expect(decideAddresses(restricted, 'evil.example', 443, ['127.0.0.1']).allowed).to.equal(false)
    expect(decideAddresses(restricted, 'evil.example', 443, ['93.184.215.14', '10.0.0.1']).allowed).to.equal(false)
    expect(decideAddresses(restricted, 'evil.example', 443, ['::ffff:127.0.0.1']).allowed).to.equal(false)
    expect(decideAddresses(restricted, 'evil.example', 443, ['fe80::1']).allowed).to.equal(false)
    expect(decideTarget(restricted, '192.168.1.42', 11434).allowed).to.equal(true)
    expect(decideTarget(restricted, '192.168.1.42', 22).allowed).to.equal(false)
    expect(decideTarget(restricted, '169.254.169.254', 80).allowed, 'cloud metadata').to.equal(false)
    const open = parsePolicy('open', [])
    expect(decideTarget(open, '192.168.1.9', 22).allowed).to.equal(true)
    expect(decideTarget(open, '127.0.0.1', 22).allowed, "the host's own services").to.equal(false)
    expect(decideAddresses(open, 'localhost', 80, ['::1']).allowed).to.equal(false)
    expect(decideAddresses(open, 'x.example', 80, []).allowed).to.equal(false)
  })

  it('refuses malformed targets before any lookup', () => {
    const open = parsePolicy('open', [])
    expect(decideTarget(open, `${'a'.repeat(250)}.com`, 443)).to.deep.equal({allowed: false, reason: 'name too long'})
    expect(decideTarget(open, 'a\0b.com', 443).allowed).to.equal(false)
    expect(decideTarget(open, 'x.com', 0).allowed).to.equal(false)
    expect(parseAuthority('api.example.com:443')).to.deep.equal({host: 'api.example.com', port: 443})
    expect(parseAuthority('[::1]:22')).to.deep.equal({host: '::1', port: 22})
    for (const bad of ['a.com', 'a.com:443\0', 'a\0.com:443', 'user@a.com:443', 'a.com:443/x', '[zz]:1', 'a b:1'])
      expect(parseAuthority(bad), JSON.stringify(bad)).to.equal(undefined)
  })
})
