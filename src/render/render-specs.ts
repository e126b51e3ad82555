import path from 'node:path'

import type {DagctlConfig} from '../config/schema.js'
import {ConfigError, DagctlError} from '../errors.js'
import {loadSpec} from '../spec/load.js'
import {buildRenderModel} from '../spec/model.js'
import {buildSpecSchema} from '../spec/schema.js'
import {builtinTaskTypes, loadPlatformTaskTypes, type TaskType} from '../spec/task-types.js'
import {createDagRenderer, type DagRenderer, type TemplateSources} from './environment.js'
import {generatedHeader} from './header.js'
import {parseImport} from './imports.js'
import type {RenderModel} from '../spec/model.js'

/** One spec turned into its DAG file's text, or the error that stopped it. */
export type SpecOutcome =
  | {ok: true; file: string; rel: string; dagId: string; tasks: number; content: string; line?: number}
  | {ok: false; file: string; error: DagctlError}

/** The task types a package can use: the built-ins plus its platform's template folder. */
export function resolveTaskTypes(root: string, config: DagctlConfig): TaskType[] {
  const platform = config.task_templates ? loadPlatformTaskTypes(path.resolve(root, config.task_templates)) : []
  return [...builtinTaskTypes(), ...platform]
}

/** Renders one model to the file's full text: marker header, then the template's output. */
export function renderDag(renderer: DagRenderer, model: RenderModel): string {
  const context = {...model, imports: model.imports.map(parseImport)}
  return generatedHeader(model.source, model.source_line) + renderer.render(context)
}

/**
 * Load, check, model and render each spec file: the whole per-spec pipeline. Errors stay per
 * file so that every bad spec is reported, not only the first.
 */
export function renderSpecFiles(root: string, config: DagctlConfig, files: string[]): SpecOutcome[] {
  if (files.length === 0) return []
  const taskTypes = resolveTaskTypes(root, config)
  const byName = new Map(taskTypes.map((t) => [t.name, t]))
  const platformSources: TemplateSources = new Map(taskTypes.filter((t) => t.file).map((t) => [t.template, {src: t.source!, path: t.file!}]))
  const renderer = createDagRenderer(platformSources, taskTypes.map((t) => t.template))
  const schema = buildSpecSchema(taskTypes.map((t) => t.schema))
  return files.map((file): SpecOutcome => {
    try {
      const loaded = loadSpec(file, root, schema)
      const model = buildRenderModel(loaded, config, byName)
      let content: string
      try {
        content = renderDag(renderer, model)
      } catch (error) {
        // A platform template failing on a value (its `| py` refusing it, a missing field).
        const message = (error as Error).message.replace(/\s+/g, ' ')
        throw new ConfigError(`cannot render ${loaded.rel}: ${message}`, {file, code: 'RENDER_FAILED', hint: 'Check the task template named in the message.'})
      }
      return {ok: true, file, rel: loaded.rel, dagId: model.dag.dag_id, tasks: model.dag.tasks.length, content}
    } catch (error) {
      if (!(error instanceof DagctlError)) throw error
      return {ok: false, file, error}
    }
  })
}
