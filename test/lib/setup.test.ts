import {expect} from 'chai'
import {RepomanError, UsageError} from '../../src/lib/errors.js'
import {choosePool, missingValues, planDefaultProfile, poolAdvice, resolveSetup} from '../../src/lib/setup.js'

const pool = (name: string) => ({name, driver: 'dir', status: 'Created'})
const host = {user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'}

describe('setup decisions', () => {
  it('picks the named pool, the only pool, else "default", and says what to do with none', () => {
    expect(choosePool([pool('fast'), pool('slow')], 'slow')).to.equal('slow')
    expect(choosePool([pool('tank')])).to.equal('tank')
    expect(choosePool([pool('a'), pool('default')])).to.equal('default')
    expect(() => choosePool([pool('a'), pool('b')])).to.throw(UsageError, /choose one with --storage-pool/)
    expect(() => choosePool([])).to.throw(RepomanError, /incus storage create default dir/)
    expect(() => choosePool([pool('a')], 'zz')).to.throw(UsageError, /storage pool "zz" does not exist/)
  })

  it('advises a cloning pool only when the root disk is on a dir pool', () => {
    const root = {root: {type: 'disk', path: '/', pool: 'default'}}
    expect(poolAdvice([pool('default')], root)).to.match(/^storage pool "default" is a dir pool: .*btrfs or zfs/)
    expect(poolAdvice([{name: 'default', driver: 'btrfs', status: 'Created'}], root)).to.equal(undefined)
    expect(poolAdvice([pool('default')], {})).to.equal(undefined)
  })

  it('adds a root disk (and a NIC for a chosen network) only where missing', () => {
    const empty = {name: 'default', description: '', config: {}, devices: {}}
    expect(planDefaultProfile(empty, 'tank', undefined, {pool: false, network: false})).to.deep.equal({
      root: {type: 'disk', path: '/', pool: 'tank'},
    })
    expect(planDefaultProfile(empty, 'tank', 'incusbr0', {pool: false, network: false})).to.deep.equal({
      root: {type: 'disk', path: '/', pool: 'tank'},
      eth0: {type: 'nic', name: 'eth0', network: 'incusbr0'},
    })
    const done = {...empty, devices: {root: {type: 'disk', path: '/', pool: 'tank'}}}
    expect(planDefaultProfile(done, 'other', undefined, {pool: false, network: false})).to.equal(undefined)
    expect(planDefaultProfile(done, 'other', undefined, {pool: true, network: false})?.root?.pool).to.equal('other')
  })

  it('keeps recorded values, asks only for what is neither given nor recorded', () => {
    expect(missingValues({reposRoot: '/r'}, undefined)).to.deep.equal(['backupRoot', 'image', 'profiles'])
    const resolved = resolveSetup({backupRoot: '/nfs'}, undefined, {reposRoot: '~/code'}, host, () => '10.0.0.2')
    expect(resolved).to.include({
      reposRoot: '/home/dev/code',
      backupRoot: '/nfs',
      incusProject: 'repoman',
      lanIp: '10.0.0.2',
    })
    expect(() => resolveSetup({lanIp: 'nope'}, undefined, {}, host, () => '')).to.throw(UsageError, /not an IP address/)
  })
})
