import { idInStream } from './streams';
import { UserId } from './user';

/**
 * Events of the `content-<id>` streams: one stream per piece of content. Deletion is soft: a
 * deleted piece keeps its stream (and its history) but is no longer listed or editable.
 */
export type ContentId = string & { readonly __brand: 'ContentId' };

const CONTENT_PREFIX = 'content-';
export const contentStream = (id: string): string => `${CONTENT_PREFIX}${id}`;
export const contentIdOf = (streamId: string): ContentId => idInStream(streamId, CONTENT_PREFIX) as ContentId;

/** Only the fields that changed, with their new values; the old ones are in earlier events. */
export interface ContentChanges {
  title?: string;
  body?: string;
}

export type ContentEvent =
  | { type: 'ContentCreated'; data: { title: string; body: string; authorId: UserId } }
  | { type: 'ContentUpdated'; data: { changes: ContentChanges } }
  | { type: 'ContentDeleted'; data: { at: string } };

export type ContentEventType = ContentEvent['type'];
