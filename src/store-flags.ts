import {Flags} from '@oclif/core'

/**
 * Flags of the store commands (publish, list, releases, diff, rollback, fsck) besides `--env` and
 * `--store` (environmentFlags in base-command.ts). The command layer owns flag definitions;
 * src/release only sees the parsed values.
 */
export const storeFlags = {
  endpoint: Flags.string({
    summary: 'S3 endpoint URL (MinIO, LocalStack, moto); default environments.<env>.s3.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL.',
    helpGroup: 'STORE',
  }),
}

export const packageFlag = Flags.string({
  char: 'p',
  summary: 'Package to act on (default: `package` of dagctl.yaml).',
  helpGroup: 'STORE',
})
