/** Makes (or repairs) the host user's account in a running container; see account.ts for the rules. */

import {RepomanError} from '../errors.js'
import {hostGroupName} from '../host.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import type {Registry} from '../registry/schema.js'
import {
  type AccountPlan,
  type AccountWant,
  accountApplyScript,
  accountScript,
  FACTS_END,
  parseAccountFacts,
  planUserAccount,
  sudoersFile,
} from './account-plan.js'
import {CONFIG_KEYS} from './containers.js'
import {idsInside} from './session.js'

/** Whether new containers give the host user passwordless sudo: `[defaults] sudo`, on unless set false. */
export function defaultSudo(registry: Registry): boolean {
  return registry.defaults.sudo !== false
}

/** The account a container of this registry should have, with the ids `planIdmap` chose. */
export function accountWant(registry: Registry, ids: {uid: number; gid: number}, sudo: boolean): AccountWant {
  const {user, home, gid} = registry.host
  return {user, uid: ids.uid, gid: ids.gid, group: hostGroupName({user, gid}), home, sudo}
}

/** The account a container repoman made should have, from what it recorded on the container. */
export function instanceAccountWant(registry: Registry, instance: IncusInstance): AccountWant {
  const recorded = instance.config[CONFIG_KEYS.sudo]
  return accountWant(
    registry,
    idsInside(registry, instance),
    recorded === undefined ? defaultSudo(registry) : recorded === 'true',
  )
}

/**
 * When to wait for cloud-init (it makes the image's own first user, which the plan must see):
 * `wait` before reading (a new container), `skip` (no cloud-init on the image), or
 * `on-change`: read without waiting, and only when something must change (a re-provisioned
 * container) wait and read again, so that a container in its everyday state costs one exec.
 */
export type CloudInitWait = 'wait' | 'skip' | 'on-change'

/**
 * Reads the container's accounts, plans, and applies what is missing, in one `incus exec` (a
 * dialogue: the plan is sent back to the same shell). With `on-change` a needed change is not
 * made in that exec but in a second one, after cloud-init (a rare repair).
 */
export async function ensureAccount(
  incus: Pick<IncusClient, 'dialogue' | 'execArgs'>,
  name: string,
  want: AccountWant,
  cloudInit: CloudInitWait,
): Promise<AccountPlan> {
  let plan: AccountPlan | undefined
  const script = accountScript(cloudInit === 'wait')
  await incus.dialogue(
    incus.execArgs(name, ['sh', '-c', script, 'sh', want.home, sudoersFile(want.user)]),
    FACTS_END,
    (facts) => {
      plan = planUserAccount(parseAccountFacts(facts), want)
      return cloudInit === 'on-change' || plan.actions.length === 0 ? '' : accountApplyScript(plan.actions)
    },
    10 * 60_000,
  )
  if (!plan) throw new RepomanError(`the account check in "${name}" printed no facts; is its /bin/sh working?`)
  if (cloudInit === 'on-change' && plan.actions.length > 0) return ensureAccount(incus, name, want, 'wait')
  return plan
}
