import {ensureGoTool, findGoTool, goToolDir, MINIO, type EnsureGoToolOptions} from './go-tools.js'

/**
 * MinIO, the second real S3 server of the tests and benchmarks (beside moto), built from the Go
 * module proxy once per machine into `<cache>/minio/<version>/bin/minio` (test/setup/go-tools.ts).
 */
export const MINIO_MODULE = MINIO.module!
export const MINIO_VERSION = MINIO.version

export function minioDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolDir(MINIO, env)
}

/** The cached MinIO binary when it is built (never builds). */
export function findMinio(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findGoTool(MINIO, env)
}

export type EnsureMinioOptions = EnsureGoToolOptions

export async function ensureMinio(options: EnsureMinioOptions = {}): Promise<string> {
  return ensureGoTool(MINIO, options)
}
