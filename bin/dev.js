#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources directly (tsx pinned to 4.23.14: later versions fall back to dist silently).
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
