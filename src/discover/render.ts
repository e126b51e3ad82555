import path from 'node:path'

import type {DagctlConfig, DiscoverConfig} from '../config/schema.js'
import {DagctlError} from '../errors.js'
import {createDagRenderer} from '../render/environment.js'
import {renderDag, type SpecOutcome} from '../render/render-specs.js'
import {builtinTaskTypes} from '../spec/task-types.js'
import {discoverJobs, brokenJobsError, type DiscoverResult} from './discover.js'
import {buildJobRenderModel, combineSources, type JobDag} from './model.js'
import {loadSchedulesFile, type LoadedSchedule} from './schedules.js'

/** Every job DAG rendered to its file text (or the error that stopped it), as generate takes them. */
export function renderJobDags(root: string, config: DagctlConfig, settings: DiscoverConfig, dags: JobDag[]): SpecOutcome[] {
  if (dags.length === 0) return []
  const renderer = createDagRenderer(new Map(), builtinTaskTypes().map((t) => t.template))
  return dags.map((dag): SpecOutcome => {
    const file = path.resolve(root, dag.source)
    try {
      const model = buildJobRenderModel(dag, config, settings)
      return {ok: true, file, rel: dag.source, line: dag.line, dagId: dag.dagId, tasks: 1, content: renderDag(renderer, model)}
    } catch (error) {
      if (!(error instanceof DagctlError)) throw error
      return {ok: false, file, error}
    }
  })
}

export interface JobSources {
  discovered?: DiscoverResult
  schedules: LoadedSchedule[]
  dags: JobDag[]
}

/**
 * Discover (when configured) and read the schedules files: the DAGs generate adds to the specs'.
 * Broken job files stop generate (exit 1) so a job never silently loses its DAG.
 */
export async function collectJobSources(root: string, config: DagctlConfig, options: {python?: string} = {}): Promise<JobSources> {
  const settings = config.discover
  if (!settings) return {schedules: [], dags: []}
  const discovered = await discoverJobs({base: root, settings, python: options.python ?? config.python, airflowVersion: config.airflow.version as 2 | 3})
  // This package's broken job files stop it; another package's are that package's (and `discover`'s) to report.
  const broken = discovered.problems.filter((p) => p.package === config.package)
  if (broken.length > 0) throw brokenJobsError(broken, {problems: broken})
  const schedules = settings.schedules.flatMap((f) => loadSchedulesFile(path.resolve(root, f), root))
  // A package generates (and owns) its own jobs' DAGs only: `discover` lists every package's.
  // Entries running another package's job are that package's; a job no one defines is an error.
  const own = discovered.jobs.filter((j) => j.package === config.package)
  const {dags: all, errors} = combineSources(own, schedules.filter((s) => s.entry.job === undefined || !discovered.jobs.some((j) => j.id === s.entry.job && j.package !== config.package)), config)
  const dags = all.filter((d) => d.package === config.package)
  if (errors.length > 0) {
    const {combineErrors} = await import('../spec/load.js')
    throw combineErrors(errors)
  }
  return {discovered, schedules, dags}
}
