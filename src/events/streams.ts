/**
 * Streams are named `<category>-<id>`. Each category's file builds its names and reads them back
 * with this, so no caller slices a prefix off by hand, and a name of another category is an
 * error instead of a wrong id.
 */
export function idInStream(streamId: string, prefix: string): string {
  if (!streamId.startsWith(prefix)) throw new Error(`${streamId} is not a ${prefix}<id> stream`);
  return streamId.slice(prefix.length);
}
