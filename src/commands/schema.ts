import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {findConfigFile} from '../config/load.js'
import {writeFileAtomic} from '../util/atomic-write.js'
import {resolveTaskTypes} from '../render/render-specs.js'
import {SCHEMA_KINDS, jsonSchemaOf, type SchemaKind} from '../spec/json-schema.js'
import {builtinTaskTypes} from '../spec/task-types.js'
import {schedulesJsonSchema} from '../discover/schedules.js'

export default class Schema extends BaseCommand<typeof Schema> {
  static override summary = 'Print the JSON Schema of a DAG spec, of dagctl.yaml, of a platform defaults file, or of a schedules file.'
  static override description = `Editors (VS Code's YAML extension, JetBrains) complete and check YAML against a JSON Schema. These come from the same zod schemas dagctl validates with.

\`spec\` includes the task types of the package's task_templates folder when run inside a package (a dagctl.yaml in this folder or above); elsewhere, the built-in types only.`
  static override examples = [
    {description: 'Schema for specs/*.yaml, saved for the editor', command: '<%= config.bin %> schema spec --output .dagctl/spec.schema.json'},
    {description: 'Schema for dagctl.yaml', command: '<%= config.bin %> schema config'},
    {description: "Schema for a platform team's shared defaults file", command: '<%= config.bin %> schema platform'},
    {description: 'Schema for a schedules file (docs/schedules.md)', command: '<%= config.bin %> schema schedules --out .dagctl/schedules.schema.json'},
  ]

  static override args = {
    kind: Args.string({description: 'Which schema: spec, config, platform or schedules.', options: [...SCHEMA_KINDS, 'schedules'], required: true}),
  }

  static override flags = {
    output: Flags.string({
      char: 'o',
      summary: 'Write the schema to this file (atomically) instead of stdout.',
      // the name of 0.1; kept for one release, with a deprecation note on stderr
      aliases: ['out'],
      deprecateAliases: true,
    }),
  }

  public async run(): Promise<Record<string, unknown>> {
    const kind = this.args.kind as SchemaKind | 'schedules'
    if (kind === 'schedules') return this.emit(kind, schedulesJsonSchema())
    let taskTypes = builtinTaskTypes()
    if (kind === 'spec' && (this.flags.config || findConfigFile(process.cwd()))) {
      const resolved = this.loadConfig()
      taskTypes = resolveTaskTypes(resolved.root, resolved.config)
    }
    return this.emit(kind, jsonSchemaOf(kind, taskTypes))
  }

  private emit(kind: string, schema: Record<string, unknown>): Record<string, unknown> {
    const text = `${JSON.stringify(schema, null, 2)}\n`
    if (this.flags.output) {
      writeFileAtomic(this.flags.output, text)
      this.note(`wrote the ${kind} schema to ${this.flags.output}`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text)
    }
    return schema
  }
}
