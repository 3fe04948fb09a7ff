import {expect} from 'chai'
import {subidFixCommand} from '../../../src/lib/lifecycle/containers.js'
import {
  CONTAINMENT_MARKER,
  containmentSeccompPolicy,
  containmentState,
  SYSTEMD_DROPIN,
} from '../../../src/lib/lifecycle/containment.js'

describe('containment policy', () => {
  const policy = containmentSeccompPolicy()
  const rules = policy.split('\n')

  it("is a whole LXC v2 denylist that keeps Incus's own denials, for every architecture", () => {
    expect(rules.slice(0, 4)).to.deep.equal(['2', 'denylist', 'reject_force_umount', '[all]'])
    for (const call of ['kexec_load', 'open_by_handle_at', 'init_module', 'finit_module', 'delete_module'])
      expect(rules).to.include(`${call} errno 38`)
  })

  it('refuses unmounting, plain binds, moves, new mount namespaces and the new mount API', () => {
    expect(rules).to.include.members([
      'umount2 errno 1',
      'umount errno 1',
      'pivot_root errno 1',
      // (flags & (MS_BIND|MS_REC|MS_REMOUNT|MS_MOVE)) == MS_BIND: a bind that is neither recursive nor a remount.
      'mount errno 1 [3,4096,SCMP_CMP_MASKED_EQ,28704]',
      'mount errno 1 [3,8192,SCMP_CMP_MASKED_EQ,8192]',
      'unshare errno 1 [0,131072,SCMP_CMP_MASKED_EQ,131072]',
      'clone errno 1 [0,131072,SCMP_CMP_MASKED_EQ,131072]',
      'clone3 errno 38',
      'open_tree errno 38',
      'move_mount errno 38',
      'mount_setattr errno 38',
      'fsopen errno 38',
    ])
    // Mounting a new file system (systemd's tmpfs, /proc) stays allowed: no unconditional mount rule.
    expect(rules.filter((r) => r.startsWith('mount ')).every((r) => r.includes('SCMP_CMP_MASKED_EQ'))).to.equal(true)
  })

  it('recognises its own policy, a hand-edited one, and none', () => {
    expect(containmentState(policy)).to.equal('enforced')
    expect(containmentState(policy.replace('umount2 errno 1\n', ''))).to.equal('modified')
    expect(containmentState(undefined)).to.equal('none')
    expect(containmentState('2\ndenylist\n')).to.equal('none')
    expect(policy).to.include(CONTAINMENT_MARKER)
  })

  it('tells systemd to set up no service credentials', () => {
    expect(SYSTEMD_DROPIN.path).to.equal('/etc/systemd/system/service.d/10-repoman-containment.conf')
    expect(SYSTEMD_DROPIN.content).to.match(/^\[Service\]\nImportCredential=\n/m)
  })

  it('names the /etc/subuid and /etc/subgid lines raw.idmap still needs', () => {
    const base = 'root:1000000:1000000000\n'
    expect(subidFixCommand({uid: 1001, gid: 1001}, base, base)).to.equal(
      'echo root:1001:1 | sudo tee -a /etc/subuid && echo root:1001:1 | sudo tee -a /etc/subgid',
    )
    expect(subidFixCommand({uid: 1001, gid: 1001}, `${base}root:1001:1\n`, base)).to.equal(
      'echo root:1001:1 | sudo tee -a /etc/subgid',
    )
    expect(subidFixCommand({uid: 1001, gid: 1001}, `${base}root:1001:1\n`, `${base}root:1001:1\n`)).to.equal(undefined)
  })
})
