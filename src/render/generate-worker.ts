/** A worker thread of `dagctl generate`: renders its share of the spec files (render-specs.ts). */
import {parentPort, workerData} from 'node:worker_threads'

import type {DagctlConfig} from '../config/schema.js'
import {renderSpecFiles, toTransferable} from './render-specs.js'

const {root, config, files} = workerData as {root: string; config: DagctlConfig; files: string[]}
try {
  parentPort!.postMessage({outcomes: renderSpecFiles(root, config, files).map(toTransferable)})
} catch (error) {
  parentPort!.postMessage({crash: error instanceof Error ? (error.stack ?? error.message) : String(error)})
}
