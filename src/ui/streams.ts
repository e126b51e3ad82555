/**
 * The stream rule of every command, in one place:
 * - stdout: the result and the data asked for (tables, reports, the JSON document under --json);
 * - stderr: progress, diffs shown as progress, notes, warnings, deprecations and errors.
 * Under --json stdout holds exactly one JSON document.
 */

/**
 * Resolves once everything written so far to stdout and stderr has been handed to the OS.
 * A pipe whose reader is slow (`dagctl validate --json | (sleep 2; jq .)`) holds only 64 KiB:
 * exiting with the rest still queued in Node would cut the document off.
 */
export async function flushOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): Promise<void> {
  await Promise.all(
    streams.map(
      (stream) =>
        new Promise<void>((resolve) => {
          if (stream.destroyed || stream.writableEnded) return resolve()
          // A write's callback runs after the writes queued before it: an empty one marks the end.
          stream.write('', () => resolve())
        }),
    ),
  )
}
