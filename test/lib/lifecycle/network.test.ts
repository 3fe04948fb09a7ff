import {expect} from 'chai'
import {UsageError} from '../../../src/lib/errors.js'
import {
  aclNameFor,
  BLOCKED_IPV4,
  bridgeNameFor,
  chooseSubnet,
  egressRules,
  parseAllowEntry,
  subtractCidrs4,
} from '../../../src/lib/lifecycle/network.js'

describe('network isolation rules', () => {
  it('subtracts CIDRs exactly', () => {
    expect(subtractCidrs4('10.0.0.0/8', ['10.0.0.0/9'])).to.deep.equal(['10.128.0.0/9'])
    expect(subtractCidrs4('0.0.0.0/0', [])).to.deep.equal(['0.0.0.0/0'])
    const publicRanges = subtractCidrs4('0.0.0.0/0', BLOCKED_IPV4)
    expect(publicRanges).to.include.members(['1.0.0.0/8', '8.0.0.0/7', '11.0.0.0/8', '128.0.0.0/3'])
    // Nothing blocked survives, and the survivors plus the blocked ranges cover all of IPv4.
    const size = (c: string) => 2 ** (32 - Number(c.split('/')[1]))
    expect(publicRanges.concat(BLOCKED_IPV4).reduce((n, c) => n + size(c), 0)).to.equal(2 ** 32)
    // A range holds an address exactly when removing the address changes it.
    const holds = (cidr: string, ip: string) => subtractCidrs4(cidr, [`${ip}/32`]).join() !== cidr
    for (const blocked of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '169.254.1.1', '127.0.0.1'])
      expect(
        publicRanges.filter((c) => holds(c, blocked)),
        blocked,
      ).to.deep.equal([])
    expect(publicRanges.filter((c) => holds(c, '1.1.1.1'))).to.have.length(1)
  })

  it('restricted allows the internet and listed exceptions; allowlist only the list', () => {
    const restricted = egressRules({mode: 'restricted', allow: ['192.168.1.42:11434']})
    expect(restricted[0]?.destination).to.include('1.0.0.0/8').and.include('2000::/3').and.not.include('192.168.0.0')
    expect(restricted[1]).to.deep.include({destination: '192.168.1.42/32', protocol: 'tcp', destination_port: '11434'})
    expect(egressRules({mode: 'allowlist', allow: ['140.82.112.0/20', '[2606:4700::1]:443']})).to.deep.equal([
      {action: 'allow', destination: '140.82.112.0/20', description: '140.82.112.0/20', state: 'enabled'},
      {
        action: 'allow',
        destination: '2606:4700::1/128',
        protocol: 'tcp',
        destination_port: '443',
        description: '[2606:4700::1]:443',
        state: 'enabled',
      },
    ])
  })

  it('refuses allow entries that are not addresses', () => {
    for (const bad of ['example.org', '10.0.0.0/33', '1.2.3.4:70000', '300.1.1.1', ''])
      expect(() => parseAllowEntry(bad), bad).to.throw(UsageError, /must be an IP address or CIDR/)
  })

  it('names bridges within 15 characters and ACLs within 63', () => {
    expect(bridgeNameFor('repoman', 'a'.repeat(63))).to.match(/^rmn[0-9a-f]{10}$/)
    expect(bridgeNameFor('repoman', 'a')).to.not.equal(bridgeNameFor('other', 'a'))
    expect(aclNameFor('isurus')).to.equal('repoman-isurus')
    expect(aclNameFor('a'.repeat(63)).length).to.be.at.most(63)
  })

  it('picks a /24 no network or interface uses', () => {
    expect(chooseSubnet([])).to.equal('10.213.1.1/24')
    expect(chooseSubnet(['10.213.1.1/24', '10.213.2.0/23', '192.168.1.5/24', ''])).to.equal('10.213.4.1/24')
    expect(() => chooseSubnet(['10.213.0.0/16'])).to.throw(UsageError, /no free \/24/)
  })
})

describe('setup and project bridges', () => {
  it('never picks an isolated project bridge as the default network', async () => {
    const {chooseNetwork} = await import('../../../src/lib/setup/setup.js')
    const net = (name: string) => ({name, type: 'bridge', managed: true})
    expect(chooseNetwork([net(bridgeNameFor('repoman', 'x'))])).to.equal(undefined)
    expect(chooseNetwork([net(bridgeNameFor('repoman', 'x')), net('incusbr0')])).to.equal('incusbr0')
  })
})
