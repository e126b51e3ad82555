import {BaseCommand} from '../base-command.js'
import {environmentFlags} from '../flags.js'
import {flatten, redactSecrets} from '../config/load.js'

export interface ConfigResult {
  file: string
  root: string
  env: string
  config: Record<string, unknown>
  sources: Record<string, string>
}

export default class Config extends BaseCommand<typeof Config> {
  static override summary = 'Print the resolved configuration and where each value came from.'
  static override description =
    'Reads dagctl.yaml, the platform defaults it extends, DAGCTL_* environment variables and flags, in that order of precedence. Secrets are never printed.'
  static override examples = ['<%= config.bin %> config', '<%= config.bin %> config --env prod --json']
  static override flags = {...environmentFlags}

  public async run(): Promise<ConfigResult> {
    const resolved = this.loadConfig()
    const config = redactSecrets(resolved.config) as Record<string, unknown>
    if (!this.jsonEnabled()) {
      this.log(`# ${resolved.file} (environment ${resolved.envName})`)
      const leaves = flatten(config)
      const width = Math.max(...Object.keys(leaves).map((k) => k.length))
      for (const [key, value] of Object.entries(leaves)) {
        this.log(`${key.padEnd(width)}  ${JSON.stringify(value)}  (${resolved.sources[key] ?? 'default'})`)
      }
      this.log(`${'store'.padEnd(width)}  ${JSON.stringify(resolved.environment.store)}  (${resolved.sources[`environments.${resolved.envName}.store`] ?? 'default'})`)
    }
    return {file: resolved.file, root: resolved.root, env: resolved.envName, config, sources: resolved.sources}
  }
}
