/**
 * Shell completion of project and profile names. oclif's generated completion knows only
 * commands and flags, so repoman keeps the names in small cache files (refreshed after every
 * command that reads the registry) and extends the generated bash function to read them
 * directly: completing a name starts no process at all.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {appendFile, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {RepomanPaths} from './paths.js'
import {listTemplates} from './profiles/library.js'
import type {Registry} from './registry/schema.js'

export const NAME_KINDS = ['projects', 'profiles'] as const
export type NameKind = (typeof NAME_KINDS)[number]

export function namesCacheFile(paths: RepomanPaths, kind: NameKind): string {
  return join(paths.cacheDir, 'completions', kind)
}

export function currentNames(paths: RepomanPaths, registry: Registry): Record<NameKind, string[]> {
  return {
    projects: registry.project.map((p) => p.name).sort(),
    profiles: [...new Set(['default', ...listTemplates(paths.userProfilesDir).map((t) => t.name)])].sort(),
  }
}

/** Rewrites the cache files whose content changed (a read and a compare when nothing did). */
export function refreshNamesCache(paths: RepomanPaths, registry: Registry): Record<NameKind, string[]> {
  const names = currentNames(paths, registry)
  mkdirSync(join(paths.cacheDir, 'completions'), {recursive: true})
  for (const kind of NAME_KINDS) {
    const file = namesCacheFile(paths, kind)
    const text = names[kind].map((n) => `${n}\n`).join('')
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text)
  }
  return names
}

/** After a command that read the registry (postrun hook, fast path): never fails the command. */
export function refreshAfterCommand(paths: RepomanPaths, registry: Registry): void {
  try {
    refreshNamesCache(paths, registry)
  } catch {
    // Completion is a convenience.
  }
}

/** Commands whose first argument is a project name, and `profile` subcommands that take profile names. */
const PROJECT_COMMANDS = [
  'shell',
  'exec',
  'status',
  'sync',
  'remove',
  'restore',
  'rollback',
  'attach',
  'review',
  'accept',
]
const PROFILE_COMMANDS = ['diff', 'show', 'remove', 'install']
const MARKER = '# repoman: project and profile names'

/** Bash code that wraps oclif's completion function with name completion from the cache. */
export function bashNameCompletion(bin: string): string {
  const fn = `_${bin}_autocomplete`
  return `
${MARKER} (read from the cache repoman keeps; no process is started)
_${bin}_names() {
  local file="\${XDG_CACHE_HOME:-$HOME/.cache}/${bin}/completions/$1"
  [ -f "$file" ] || ${bin} completion-names "$1" >/dev/null 2>&1
  [ -f "$file" ] && cat "$file"
}
_${bin}_complete_with_names() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" kind=""
  if [[ "$cur" != -* ]]; then
    case "\${COMP_WORDS[1]}" in
      ${PROJECT_COMMANDS.join('|')}) [[ $COMP_CWORD -eq 2 ]] && kind=projects ;;
      snapshot) [[ $COMP_CWORD -eq 2 || ( $COMP_CWORD -eq 3 && "\${COMP_WORDS[2]}" =~ ^(list|create)$ ) ]] && kind=projects ;;
      profile) case "\${COMP_WORDS[2]}" in ${PROFILE_COMMANDS.join('|')}) [[ $COMP_CWORD -ge 3 ]] && kind=profiles ;; esac ;;
    esac
  fi
  if [[ -n "$kind" ]]; then
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "$(_${bin}_names "$kind")" -- "$cur"))
    return 0
  fi
  ${fn}
}
complete -F _${bin}_complete_with_names ${bin}
`
}

/** Appends the name completion to the bash function plugin-autocomplete generated, once. */
export async function extendBashCompletion(cacheDir: string, bin: string): Promise<boolean> {
  const file = join(cacheDir, 'autocomplete', 'functions', 'bash', `${bin}.bash`)
  if (!existsSync(file)) return false
  if ((await readFile(file, 'utf8')).includes(MARKER)) return false
  await appendFile(file, bashNameCompletion(bin))
  return true
}
