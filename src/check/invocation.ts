import path from 'node:path'

import type {ValidateOptions} from './types.js'
import {cacheDir} from '../util/cache-dir.js'

/**
 * How the validation helper runs for these settings: startValidation's one rule, which the
 * speculative start of `dagctl validate` (speculate.ts) follows to start the same command early.
 */
export function helperOptions(options: Pick<ValidateOptions, 'engine' | 'cache' | 'cacheDir'>): {interpreterArgs: string[]; env?: Record<string, string>} {
  return {
    // The ast engine needs only the standard library: -S skips site-packages and its .pth hooks,
    // which on some machines cost more start-up time than parsing a hundred files.
    interpreterArgs: options.engine === 'ast' ? ['-S'] : [],
    // The helper's own modules compiled once into dagctl's cache, even where python/ is not
    // writable (a global install) or PYTHONDONTWRITEBYTECODE is set (many images): else every
    // run compiles them again. Only for the ast engine, which imports nothing of the user's, and
    // not under --no-cache, which leaves no trace in the cache.
    ...(options.engine === 'ast' && options.cache !== false ? {env: {PYTHONPYCACHEPREFIX: path.join(options.cacheDir ?? cacheDir(), 'pycache'), PYTHONDONTWRITEBYTECODE: ''}} : {}),
  }
}
