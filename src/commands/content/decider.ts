import { fail } from '../../errors';
import { Decider } from '../decider';
import { ContentChanges, ContentEvent } from '../../events/content';
import { Role, UserId } from '../../events/user';

export interface ContentState {
  exists: boolean;
  authorId: UserId | null;
  title: string;
  body: string;
  deleted: boolean;
}

export const initialContentState = (): ContentState => ({ exists: false, authorId: null, title: '', body: '', deleted: false });

export function evolveContent(s: ContentState, e: ContentEvent): ContentState {
  switch (e.type) {
    case 'ContentCreated':
      return { ...s, exists: true, authorId: e.data.authorId, title: e.data.title, body: e.data.body };
    case 'ContentUpdated':
      return { ...s, ...e.data.changes };
    case 'ContentDeleted':
      return { ...s, deleted: true };
  }
}

/** Who asks: the rules depend on the actor's role and on whether they wrote the piece. */
export interface ContentActor {
  actorId: UserId;
  actorRole: Role;
}

export type ContentCommand =
  | ({ type: 'CreateContent'; title: string; body: string } & ContentActor)
  | ({ type: 'UpdateContent'; changes: ContentChanges } & ContentActor)
  | ({ type: 'DeleteContent'; now: string } & ContentActor);

const WRITERS: readonly Role[] = ['admin', 'editor'];

/**
 * The seed's rule: admins and editors write; an admin may change any piece, an editor only their
 * own; viewers only read. A viewer is refused before existence is checked, so it learns nothing.
 */
function requireModifiable(c: ContentActor, s: ContentState): void {
  if (!WRITERS.includes(c.actorRole)) fail('FORBIDDEN', 'Viewers cannot change content');
  if (!s.exists || s.deleted) fail('NOT_FOUND', 'Content not found');
  if (c.actorRole !== 'admin' && s.authorId !== c.actorId) fail('FORBIDDEN', 'Editors can change only their own content');
}

export function decideContent(c: ContentCommand, s: ContentState): ContentEvent[] {
  switch (c.type) {
    case 'CreateContent':
      if (!WRITERS.includes(c.actorRole)) fail('FORBIDDEN', 'Only admins and editors can create content');
      if (s.exists) fail('CONFLICT', 'Content already exists');
      return [{ type: 'ContentCreated', data: { title: c.title, body: c.body, authorId: c.actorId } }];
    case 'UpdateContent': {
      requireModifiable(c, s);
      const changes: ContentChanges = {};
      if (c.changes.title !== undefined && c.changes.title !== s.title) changes.title = c.changes.title;
      if (c.changes.body !== undefined && c.changes.body !== s.body) changes.body = c.changes.body;
      return Object.keys(changes).length ? [{ type: 'ContentUpdated', data: { changes } }] : [];
    }
    case 'DeleteContent':
      requireModifiable(c, s);
      return [{ type: 'ContentDeleted', data: { at: c.now } }];
  }
}

export const contentDecider: Decider<ContentCommand, ContentEvent, ContentState> = {
  initialState: initialContentState,
  evolve: evolveContent,
  decide: decideContent,
};
